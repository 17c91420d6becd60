# Helper programs of kiln run's allocation tests (tests/integration/run_alloc*.sh), built
# plain like the other workloads (no sanitizer runtime inside a program the hook is preloaded
# into), with the hook library built before them.
set(ALLOC_WL ${CMAKE_CURRENT_SOURCE_DIR}/integration/workloads)
set(ALLOC_OUT ${CMAKE_CURRENT_BINARY_DIR}/integration)

add_executable(alloc-work ${ALLOC_WL}/alloc_work.c)
target_compile_options(alloc-work PRIVATE -O2 -g -fno-ipa-icf)
# A statically linked program: LD_PRELOAD cannot reach it (the default preset must warn once
# and go on with CPU profiling).
add_executable(alloc-work-static ${ALLOC_WL}/alloc_work.c)
target_compile_options(alloc-work-static PRIVATE -O2 -g -fno-ipa-icf)
target_link_options(alloc-work-static PRIVATE -static)
# Creates a ring, runs a command with the hook attached to it, then hands the ring to
# `kiln run --pid … --alloc-ring FD` (what libkiln does).
add_executable(alloc-ring-host ${ALLOC_WL}/alloc_ring_host.c)
target_link_libraries(alloc-ring-host PRIVATE kiln_alloc_ring)

foreach(t alloc-work alloc-work-static)
	get_target_property(opts ${t} COMPILE_OPTIONS)
	if(opts)
		list(FILTER opts EXCLUDE REGEX "sanitize")
		set_property(TARGET ${t} PROPERTY COMPILE_OPTIONS ${opts})
	endif()
endforeach()
set_property(TARGET alloc-work PROPERTY LINK_OPTIONS "")
set_property(TARGET alloc-work-static PROPERTY LINK_OPTIONS "-static")
foreach(t alloc-work alloc-work-static alloc-ring-host)
	set_target_properties(${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${ALLOC_OUT})
	if(TARGET kiln_preload)
		add_dependencies(${t} kiln_preload)
	endif()
endforeach()
