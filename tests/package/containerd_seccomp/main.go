// Prints, as JSON, the seccomp profile containerd gives a container whose
// spec holds the capabilities named on the command line: the profile a pod's
// "seccompProfile: {type: RuntimeDefault}" selects under containerd's CRI.
// It calls containerd's own code (Debian's golang-github-containerd-
// containerd-dev), so the test runs the image under the runtime's real
// default, not a copy of it.
//
//	go build (GOPATH=/usr/share/gocode GO111MODULE=off) && ./gen CAP_BPF CAP_PERFMON
package main

import (
	"encoding/json"
	"os"

	"github.com/containerd/containerd/contrib/seccomp"
	"github.com/containerd/containerd/oci"
	"github.com/opencontainers/runtime-spec/specs-go"
)

func main() {
	spec := &oci.Spec{Process: &specs.Process{}}
	// What the CRI does with a container's capabilities before it asks for
	// the default profile.
	if err := oci.WithCapabilities(os.Args[1:])(nil, nil, nil, spec); err != nil {
		panic(err)
	}
	if err := json.NewEncoder(os.Stdout).Encode(seccomp.DefaultProfile(spec)); err != nil {
		panic(err)
	}
}
