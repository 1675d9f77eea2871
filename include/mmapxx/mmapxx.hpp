/// @file
/// mmapxx: safe, zero-overhead RAII over POSIX memory mapping. Include this for everything.
#pragma once

#include "mmapxx/anonymous_region.hpp"
#include "mmapxx/atomic.hpp"
#include "mmapxx/durability.hpp"
#include "mmapxx/error.hpp"
#include "mmapxx/fault.hpp"
#include "mmapxx/flags.hpp"
#include "mmapxx/mapped_file.hpp"
#include "mmapxx/mapping.hpp"
#include "mmapxx/memfd.hpp"
#include "mmapxx/memory_object.hpp"
#include "mmapxx/mirrored_buffer.hpp"
#include "mmapxx/options.hpp"
#include "mmapxx/page.hpp"
#include "mmapxx/page_cache.hpp"
#include "mmapxx/protection_guard.hpp"
#include "mmapxx/reservation.hpp"
#include "mmapxx/robust_mutex.hpp"
#include "mmapxx/shared_futex.hpp"
#include "mmapxx/shared_memory.hpp"
#include "mmapxx/spsc_queue.hpp"
#include "mmapxx/sysv.hpp"
#include "mmapxx/version.hpp"
#include "mmapxx/write_tracker.hpp"

/// @namespace mmapxx
/// Safe, zero-overhead RAII types over POSIX memory mapping: file and anonymous mappings
/// (MappedFile, AnonymousRegion), shared memory (SharedMemoryObject, SealedMemory,
/// SysVSharedMemory), address-space reservations, fault translation, write tracking and
/// process-shared synchronisation. Every failure is an mmapxx::Error; every throwing call has a
/// noexcept overload taking std::error_code& last.
