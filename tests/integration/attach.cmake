# Helper programs for the attach tests (tests/integration/attach_*.sh, lib_*.sh).
set(ATTACH_WL ${CMAKE_CURRENT_SOURCE_DIR}/integration/workloads)

add_executable(attach-threads ${ATTACH_WL}/attach_threads.c)
target_compile_options(attach-threads PRIVATE -O2 -g)
target_link_libraries(attach-threads PRIVATE Threads::Threads)

# A workload, not what the sanitizer build checks: built plain.
foreach(t attach-threads)
	get_target_property(opts ${t} COMPILE_OPTIONS)
	list(FILTER opts EXCLUDE REGEX "sanitize")
	set_property(TARGET ${t} PROPERTY COMPILE_OPTIONS ${opts})
	set_property(TARGET ${t} PROPERTY LINK_OPTIONS "")
endforeach()

set_target_properties(attach-threads PROPERTIES
	RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)

add_executable(attach-busy ${ATTACH_WL}/attach_busy.c)
target_compile_options(attach-busy PRIVATE -O2 -g)
get_target_property(opts attach-busy COMPILE_OPTIONS)
list(FILTER opts EXCLUDE REGEX "sanitize")
set_property(TARGET attach-busy PROPERTY COMPILE_OPTIONS ${opts})
set_property(TARGET attach-busy PROPERTY LINK_OPTIONS "")
set_target_properties(attach-busy PROPERTIES
	RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)

# An application using libkiln, linked each way.
if(TARGET kiln_shared)
	add_executable(lib-app-shared ${ATTACH_WL}/lib_app.c)
	target_link_libraries(lib-app-shared PRIVATE kiln_shared)
	add_executable(lib-app-static ${ATTACH_WL}/lib_app.c)
	target_link_libraries(lib-app-static PRIVATE kiln_static)
	foreach(t lib-app-shared lib-app-static)
		target_compile_options(${t} PRIVATE -O2 -g)
	endforeach()
	set_target_properties(lib-app-shared lib-app-static PROPERTIES
		RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)
endif()

# An application using libkiln with allocation profiling and the readiness test, each way.
if(TARGET kiln_shared)
	add_executable(lib-alloc-shared ${ATTACH_WL}/lib_alloc_app.c)
	target_link_libraries(lib-alloc-shared PRIVATE kiln_shared)
	add_executable(lib-alloc-static ${ATTACH_WL}/lib_alloc_app.c)
	target_link_libraries(lib-alloc-static PRIVATE kiln_static)
	foreach(t lib-alloc-shared lib-alloc-static)
		target_compile_options(${t} PRIVATE -O2 -g)
		add_dependencies(${t} kiln_preload)
	endforeach()
	set_target_properties(lib-alloc-shared lib-alloc-static PROPERTIES
		RUNTIME_OUTPUT_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/integration)
endif()
