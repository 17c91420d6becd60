# Helper programs of tests/integration/preload_*.sh: the ring reader tool and the programs
# the hook is injected into (built plain: no sanitizer runtime inside a preloaded target).
set(PRELOAD_SRC ${CMAKE_CURRENT_SOURCE_DIR}/integration/preload)
set(PRELOAD_OUT ${CMAKE_CURRENT_BINARY_DIR}/integration)

add_executable(preload-ring ${PRELOAD_SRC}/preload_ring_tool.c)
target_link_libraries(preload-ring PRIVATE kiln_alloc_ring)

add_executable(preload-torture ${PRELOAD_SRC}/preload_torture.c)
target_link_libraries(preload-torture PRIVATE Threads::Threads ${CMAKE_DL_LIBS})
add_library(preload-plugin SHARED ${PRELOAD_SRC}/preload_plugin.c)
add_executable(preload-cxx ${PRELOAD_SRC}/preload_cxx.cpp)
add_library(preload-fakealloc SHARED ${PRELOAD_SRC}/preload_fakealloc.c)
add_executable(preload-cxx-fake ${PRELOAD_SRC}/preload_cxx.cpp)
target_link_libraries(preload-cxx-fake PRIVATE preload-fakealloc)
add_executable(preload-bench ${PRELOAD_SRC}/preload_bench.c)
target_compile_options(preload-bench PRIVATE -O2)

foreach(t preload-torture preload-plugin preload-cxx preload-bench preload-fakealloc
		preload-cxx-fake)
	get_target_property(opts ${t} COMPILE_OPTIONS)
	if(opts)
		list(FILTER opts EXCLUDE REGEX "sanitize")
		set_property(TARGET ${t} PROPERTY COMPILE_OPTIONS ${opts})
	endif()
	set_property(TARGET ${t} PROPERTY LINK_OPTIONS "")
endforeach()
foreach(t preload-ring preload-torture preload-plugin preload-cxx preload-bench
		preload-fakealloc preload-cxx-fake)
	set_target_properties(${t} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${PRELOAD_OUT}
		LIBRARY_OUTPUT_DIRECTORY ${PRELOAD_OUT})
endforeach()
add_dependencies(preload-torture kiln_preload preload-plugin preload-ring preload-cxx
	preload-cxx-fake)
