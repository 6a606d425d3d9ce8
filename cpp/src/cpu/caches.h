// What the CPU backend's work split needs to know about this CPU's caches. Declared outside the
// ISA levels' namespaces (cpu/isa.h): one copy, compiled at baseline (cpu/caches.cpp).
#pragma once

#include <cstdint>

namespace rnnkit::cpu {

// The L2 cache of one core, in bytes: what the OS reports (Linux: sysconf), or 512 KiB where it
// reports nothing. Read once.
std::int64_t l2_cache_bytes();

}  // namespace rnnkit::cpu
