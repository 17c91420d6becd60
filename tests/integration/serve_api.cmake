# Helper programs of the store/query tests: the query benchmark (bench/serve_query.sh).
add_executable(serve_api_bench ${CMAKE_CURRENT_LIST_DIR}/serve_api/serve_api_bench.c)
target_link_libraries(serve_api_bench PRIVATE kiln_server)
set_target_properties(serve_api_bench PROPERTIES
	RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)
