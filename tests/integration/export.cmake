# Helper program of the export integration tests: sends pprof files through the exporter.
add_executable(export_send ${CMAKE_CURRENT_LIST_DIR}/export/export_send.c)
target_link_libraries(export_send PRIVATE kiln_export)
set_target_properties(export_send PROPERTIES
	RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)
