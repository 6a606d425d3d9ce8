# The C++ package: `cmake --install` puts the public headers, the core library and a CMake package
# config under the prefix, so that a C++ project writes
#
#   find_package(rnnkit CONFIG REQUIRED)
#   target_link_libraries(app PRIVATE rnnkit::core)
#
# Targets: rnnkit::core (the static library, as in this build tree), rnnkit::core_shared (the
# same sources as a shared library, with RNNKIT_BUILD_SHARED=ON). Off by default inside a Python
# wheel build (scikit-build-core sets SKBUILD): the wheel carries only the Python package.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

if(DEFINED SKBUILD)
  set(_rnnkit_install_default OFF)
else()
  set(_rnnkit_install_default ON)
endif()
option(RNNKIT_INSTALL_CPP "Install the C++ headers, library and CMake package config"
       ${_rnnkit_install_default})
option(RNNKIT_BUILD_SHARED "Also build the core as a shared library (rnnkit::core_shared)" OFF)

set(RNNKIT_INSTALL_CMAKEDIR "${CMAKE_INSTALL_LIBDIR}/cmake/rnnkit" CACHE STRING
    "Where the CMake package config is installed, relative to the prefix")

target_include_directories(rnnkit_core PUBLIC $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
set_target_properties(rnnkit_core PROPERTIES EXPORT_NAME core OUTPUT_NAME rnnkit)

set(_rnnkit_export_targets rnnkit_core)
if(RNNKIT_BUILD_SHARED)
  # The same sources, options and usage requirements as rnnkit_core, linked as a shared library.
  get_target_property(_sources rnnkit_core SOURCES)
  add_library(rnnkit_core_shared SHARED ${_sources})
  add_library(rnnkit::core_shared ALIAS rnnkit_core_shared)
  # With ISA dispatch the sources include each level's renamed objects (cmake/isa.cmake), made by
  # custom commands: build them once, for rnnkit_core, before this target looks at them.
  add_dependencies(rnnkit_core_shared rnnkit_core)
  foreach(_property COMPILE_OPTIONS COMPILE_DEFINITIONS INCLUDE_DIRECTORIES
                    INTERFACE_INCLUDE_DIRECTORIES INTERFACE_SYSTEM_INCLUDE_DIRECTORIES
                    LINK_LIBRARIES INTERFACE_LINK_LIBRARIES)
    get_target_property(_value rnnkit_core ${_property})
    if(_value)
      set_property(TARGET rnnkit_core_shared PROPERTY ${_property} "${_value}")
    endif()
  endforeach()
  set_target_properties(rnnkit_core_shared PROPERTIES
    EXPORT_NAME core_shared OUTPUT_NAME rnnkit
    VERSION ${PROJECT_VERSION} SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
  list(APPEND _rnnkit_export_targets rnnkit_core_shared)
endif()

if(RNNKIT_INSTALL_CPP)
  install(TARGETS ${_rnnkit_export_targets} EXPORT rnnkitTargets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR}
          INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
  install(DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}/cpp/include/rnnkit
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR} FILES_MATCHING PATTERN "*.h")
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/generated/include/rnnkit/version.h
          DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/rnnkit)
  install(EXPORT rnnkitTargets NAMESPACE rnnkit:: DESTINATION ${RNNKIT_INSTALL_CMAKEDIR})
  configure_package_config_file(
    ${CMAKE_CURRENT_LIST_DIR}/templates/rnnkitConfig.cmake.in
    ${CMAKE_CURRENT_BINARY_DIR}/generated/rnnkitConfig.cmake
    INSTALL_DESTINATION ${RNNKIT_INSTALL_CMAKEDIR})
  write_basic_package_version_file(
    ${CMAKE_CURRENT_BINARY_DIR}/generated/rnnkitConfigVersion.cmake
    VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
  install(FILES ${CMAKE_CURRENT_BINARY_DIR}/generated/rnnkitConfig.cmake
                ${CMAKE_CURRENT_BINARY_DIR}/generated/rnnkitConfigVersion.cmake
          DESTINATION ${RNNKIT_INSTALL_CMAKEDIR})
  install(FILES ${CMAKE_CURRENT_SOURCE_DIR}/third_party/eigen/COPYRIGHT.debian
          DESTINATION ${CMAKE_INSTALL_DATADIR}/doc/rnnkit/eigen OPTIONAL)
endif()
