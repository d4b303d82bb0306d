# Installs the headers and an exported package: find_package(stco CONFIG) gives stco::stco; the
# components `cuda` (stco::cuda, when the package was configured with CUDA) and `eigen`
# (stco::eigen, when Eigen is found where the package is used) add the optional parts.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(STCO_INSTALL_CMAKEDIR ${CMAKE_INSTALL_DATADIR}/cmake/stco)

install(DIRECTORY include/stco DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(TARGETS stco EXPORT stcoTargets)
install(EXPORT stcoTargets NAMESPACE stco:: DESTINATION ${STCO_INSTALL_CMAKEDIR})
# stco::cuda in a file of its own: the package config loads it only where the CUDA toolkit is
# found, so stco::stco stays usable on a machine without one.
if(STCO_HAS_CUDA)
  install(TARGETS stco_cuda EXPORT stcoCudaTargets)
  install(EXPORT stcoCudaTargets NAMESPACE stco:: DESTINATION ${STCO_INSTALL_CMAKEDIR})
endif()
# stco::eigen is not exported: the package config defines it over the Eigen found where the
# package is used, whether or not this build had Eigen.

configure_package_config_file(cmake/stcoConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/stcoConfig.cmake
  INSTALL_DESTINATION ${STCO_INSTALL_CMAKEDIR})
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/stcoConfigVersion.cmake
  COMPATIBILITY SameMinorVersion ARCH_INDEPENDENT)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/stcoConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/stcoConfigVersion.cmake
  DESTINATION ${STCO_INSTALL_CMAKEDIR})
install(FILES LICENSE README.md CHANGELOG.md DESTINATION ${CMAKE_INSTALL_DOCDIR})
install(DIRECTORY docs/ DESTINATION ${CMAKE_INSTALL_DOCDIR})
