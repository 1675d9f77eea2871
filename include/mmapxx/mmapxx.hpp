// mmapxx: safe, zero-overhead RAII over POSIX memory mapping. Include this for everything.
#pragma once

#include "mmapxx/anonymous_region.hpp"
#include "mmapxx/atomic.hpp"
#include "mmapxx/error.hpp"
#include "mmapxx/fault.hpp"
#include "mmapxx/flags.hpp"
#include "mmapxx/mapped_file.hpp"
#include "mmapxx/mapping.hpp"
#include "mmapxx/memfd.hpp"
#include "mmapxx/memory_object.hpp"
#include "mmapxx/options.hpp"
#include "mmapxx/page.hpp"
#include "mmapxx/protection_guard.hpp"
#include "mmapxx/scan.hpp"
#include "mmapxx/shared_memory.hpp"
#include "mmapxx/sysv.hpp"
#include "mmapxx/write_tracker.hpp"
