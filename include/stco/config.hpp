// stco/config.hpp — the few macros the library needs: version, host/device annotation.
#pragma once

// The release this header belongs to. CMakeLists.txt's project(stco VERSION ...) is the source;
// configuring with CMake fails if these differ from it.
#define STCO_VERSION_MAJOR 0
#define STCO_VERSION_MINOR 2
#define STCO_VERSION_PATCH 0

// Functions callable from both host and device code when compiled by nvcc; plain C++ otherwise.
#if defined(__CUDACC__)
#define STCO_HD __host__ __device__
#else
#define STCO_HD
#endif
