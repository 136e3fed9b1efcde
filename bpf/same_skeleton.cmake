# Fails unless the skeleton headers BASE and VARIANT describe the same maps,
# programs and globals: equal once the variant's name is the base's and the
# embedded object (the string after "*sz = N;") is dropped from both.
function(skeleton_shape path name out)
  file(READ ${path} text)
  string(REPLACE "${name}" "NAME" text "${text}")
  string(TOUPPER "${name}" upper)
  string(REPLACE "${upper}" "NAME" text "${text}")  # the include guard
  string(FIND "${text}" "__elf_bytes(size_t *sz)\n{" start)
  string(FIND "${text}" "#ifdef __cplusplus\nstruct NAME *" end)
  if(start EQUAL -1 OR end EQUAL -1)
    message(FATAL_ERROR "${path}: not a bpftool skeleton of the expected form")
  endif()
  string(SUBSTRING "${text}" 0 ${start} head)
  string(SUBSTRING "${text}" ${end} -1 tail)
  set(${out} "${head}${tail}" PARENT_SCOPE)
endfunction()

skeleton_shape(${BASE} netstacklat_bpf base)
skeleton_shape(${VARIANT} netstacklat_kf_bpf variant)
if(NOT base STREQUAL variant)
  file(WRITE ${STAMP}.base "${base}")
  file(WRITE ${STAMP}.variant "${variant}")
  message(FATAL_ERROR "the BPF objects differ in more than code: "
                      "diff ${STAMP}.base ${STAMP}.variant")
endif()
file(WRITE ${STAMP} "same\n")
