# Helper programs for kiln run's integration tests (tests/integration/run_*.sh) and the demo.
set(RUN_WL ${CMAKE_CURRENT_SOURCE_DIR}/integration/workloads)
set(RUN_OUT ${CMAKE_CURRENT_BINARY_DIR}/integration)

add_executable(run-work ${RUN_WL}/run_work.c)
target_compile_options(run-work PRIVATE -O2 -fomit-frame-pointer -g)
target_link_libraries(run-work PRIVATE Threads::Threads ${CMAKE_DL_LIBS})

add_library(run-plugin SHARED ${RUN_WL}/run_plugin.c)
target_compile_options(run-plugin PRIVATE -O2 -g)

add_executable(run-work-cxx ${RUN_WL}/run_cxx.cpp)
target_compile_options(run-work-cxx PRIVATE -O2 -g)

add_executable(run-pprof-dump ${RUN_WL}/run_pprof_dump.c)
target_link_libraries(run-pprof-dump PRIVATE kiln_pprof)

add_executable(kiln-demo ${RUN_WL}/demo.c)
target_compile_options(kiln-demo PRIVATE -O2 -g)
target_link_libraries(kiln-demo PRIVATE Threads::Threads)

# The workloads are what kiln profiles, not what the sanitizer build checks: they are built
# plain (no ASan redzones inflating stack frames, no sanitizer runtime start-up in profiles).
foreach(t run-work run-plugin run-work-cxx kiln-demo)
	get_target_property(opts ${t} COMPILE_OPTIONS)
	list(FILTER opts EXCLUDE REGEX "sanitize")
	set_property(TARGET ${t} PROPERTY COMPILE_OPTIONS ${opts})
	set_property(TARGET ${t} PROPERTY LINK_OPTIONS "")
endforeach()

set_target_properties(run-work run-plugin run-work-cxx run-pprof-dump kiln-demo PROPERTIES
	RUNTIME_OUTPUT_DIRECTORY ${RUN_OUT} LIBRARY_OUTPUT_DIRECTORY ${RUN_OUT})
