# Writes INPUT into OUTPUT as the C++ string netstacklat::kBuiltinMetricsConfig.
file(READ ${INPUT} content)
file(WRITE ${OUTPUT}
  "// Generated from config/netstacklat.yaml by cmake/embed_config.cmake.\n"
  "#include \"config/metrics_config.h\"\n"
  "namespace netstacklat {\n"
  "const char kBuiltinMetricsConfig[] = R\"nstl_yaml(${content})nstl_yaml\";\n"
  "}  // namespace netstacklat\n")
