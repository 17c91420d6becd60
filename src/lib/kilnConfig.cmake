# CMake package config for libkiln: find_package(kiln) gives kiln::kiln (shared) and
# kiln::kiln_static.
include(CMakeFindDependencyMacro)
find_dependency(Threads)
include(${CMAKE_CURRENT_LIST_DIR}/kilnTargets.cmake)
if(TARGET kiln::kiln_shared AND NOT TARGET kiln::kiln)
	add_library(kiln::kiln ALIAS kiln::kiln_shared)
endif()
