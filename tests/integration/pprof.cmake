# Helper of tests/integration/pprof_go.sh: writes profiles with kiln's encoder and builder.
add_executable(pprof-write ${CMAKE_CURRENT_LIST_DIR}/pprof/pprof_write.c)
target_link_libraries(pprof-write PRIVATE kiln_pprof)
set_target_properties(pprof-write PROPERTIES
	RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)
