// Kernel constants and syscall numbers newer than Debian 12's headers (linux 6.1), in one place.
// Each is guarded, so newer headers win, and names the kernel that added it: callers must still
// detect support at run time (ENOSYS, EINVAL), since the running kernel may be older.
#pragma once

#include <sys/syscall.h>

#ifndef SYS_cachestat  // Linux 6.5
#define SYS_cachestat 451
#endif
