# Installs the headers and an exported package: find_package(stco CONFIG) gives stco::stco (and
# stco::cuda when the package was configured with CUDA).
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(STCO_INSTALL_CMAKEDIR ${CMAKE_INSTALL_DATADIR}/cmake/stco)

install(DIRECTORY include/stco DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
set(_stco_targets stco)
if(STCO_HAS_CUDA)
  list(APPEND _stco_targets stco_cuda)
endif()
install(TARGETS ${_stco_targets} EXPORT stcoTargets)
install(EXPORT stcoTargets NAMESPACE stco:: DESTINATION ${STCO_INSTALL_CMAKEDIR})

configure_package_config_file(cmake/stcoConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/stcoConfig.cmake
  INSTALL_DESTINATION ${STCO_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/stcoConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/stcoConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/stcoConfigVersion.cmake
  DESTINATION ${STCO_INSTALL_CMAKEDIR})
install(FILES LICENSE README.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
