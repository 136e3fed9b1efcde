// Can a program of this kind attach at this point on the running kernel?
// Asked before the real load, because libbpf loads all autoload programs at
// once and one refused program would sink the others (cf. libbpf-tools'
// fentry_can_attach() and probe_tp_btf()).
#pragma once

#include <string>

struct btf;

namespace netstacklat {

class AttachProbe {
 public:
  AttachProbe();  // loads the kernel's BTF; without it nothing can attach
  ~AttachProbe();
  AttachProbe(const AttachProbe&) = delete;
  AttachProbe& operator=(const AttachProbe&) = delete;

  // section: "fentry/<func>", "fexit/<func>" or "tp_btf/<tracepoint>".
  // Loads and attaches a two-instruction program there, then drops it.
  // Returns why it cannot attach, or "" if it can.
  std::string Check(const std::string& section) const;

  // Whether a tracing program (tp_btf) may call this helper (enum
  // bpf_func_id): loads one that does and reads the verifier's answer.
  // The helpers a tracing program may call grew after the program types
  // did (socket storage and the BTF task pointer in 5.11), so ask the
  // kernel, not its version.
  struct HelperAnswer {
    bool has = false;
    std::string unsure;  // why the probe told neither way ("" if it told)
  };
  HelperAnswer TracingHelper(int func_id) const;

  // Whether a tracing program (tp_btf) may call the kfunc bpf_rdonly_cast
  // (6.2+): loads one that does. Where it cannot, an object naming it does
  // not load at all without CAP_SYS_ADMIN (libbpf searches module BTF).
  bool TracingRdonlyCast() const;

  // Why the kernel's BTF could not be loaded; "" if it was.
  const std::string& BtfError() const { return btf_error_; }

 private:
  struct btf* vmlinux_ = nullptr;
  std::string btf_error_;
};

}  // namespace netstacklat
