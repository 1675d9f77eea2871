/// @file
/// SharedMemoryObject: a named POSIX shared memory object (shm_open), the thing two unrelated
/// processes agree on by name. Map it with map<Access>() into a MappedFile.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>
#include <utility>

#include "mmapxx/error.hpp"
#include "mmapxx/flags.hpp"
#include "mmapxx/mapped_file.hpp"
#include "mmapxx/memory_object.hpp"
#include "mmapxx/options.hpp"

namespace mmapxx {

/// Safe by default: objects are created exclusively (O_CREAT|O_EXCL) with mode 0600, and the final
/// mode is exactly the one asked for whatever the umask (fchmod after create). Every descriptor is
/// O_CLOEXEC|O_NOFOLLOW, so a symlink planted in /dev/shm is refused (ELOOP).
///
/// Names are checked before any system call: "/" followed by 1..NAME_MAX bytes, no other "/", no
/// NUL, and not "/." or "/..". Anything else is errc::invalid_argument naming the rule broken (a
/// NUL byte is shown escaped, as \0, in the error's detail, so the message is never cut there).
/// Every factory's errors name the operation "shm_open" (the one syscall they make) and the name
/// the caller gave; remove() names "shm_unlink".
///
/// The object owns its descriptor (closed by the destructor). The name is removed only by unlink()
/// or remove(), or by the destructor when set_remove_on_destroy(true) was asked for; that removal
/// happens only in the process that set it, never in a forked child that inherited the object.
///
/// resize(), size(), map<A>(), name(), fd() and operator bool come from detail::MemoryObject
/// (mmapxx/memory_object.hpp, documented there).
class SharedMemoryObject : public detail::MemoryObject {
 public:
  /// An empty object (no descriptor).
  SharedMemoryObject() noexcept = default;

  /// Creates a new, empty (size 0: resize() it) object named `name`, read-write, with exactly
  /// `mode`. Syscalls: shm_open(O_RDWR|O_CREAT|O_EXCL), then fchmod.
  /// Errors: invalid_argument for a bad name or a mode with bits outside 0777, before any
  ///   syscall; EEXIST if the name exists; EACCES, ENFILE/EMFILE. If fchmod fails (operation
  ///   "fchmod") the name is removed again. A failure leaves no name and no descriptor.
  static SharedMemoryObject create(std::string name, unsigned mode = 0600);
  /// Same; errors go to ec (an empty object is returned).
  static SharedMemoryObject create(std::string name, unsigned mode, std::error_code& ec) noexcept;
  /// Same for a C string: the copy is made inside, so even a bad_alloc while copying it is
  /// reported (errc::not_enough_memory), never thrown; a null name is invalid_argument. (A
  /// std::string parameter would copy a literal in the caller, outside noexcept.) Likewise for
  /// the const char* forms of open, open_read_only, open_or_create, create_unique and remove.
  static SharedMemoryObject create(const char* name, unsigned mode, std::error_code& ec) noexcept;
  /// Opens an existing object read-write. Syscall: shm_open(O_RDWR). Errors: invalid_argument
  /// for a bad name (before any syscall); ENOENT if there is none; EACCES when its mode does not
  /// allow this process to write (open_read_only() may still work); ELOOP for a symlink.
  static SharedMemoryObject open(std::string name);
  /// Same; errors go to ec (an empty object is returned).
  static SharedMemoryObject open(std::string name, std::error_code& ec) noexcept;
  /// Same for a C string (see create(const char*, mode, ec)).
  static SharedMemoryObject open(const char* name, std::error_code& ec) noexcept;
  /// An existing object opened O_RDONLY: enough for map<Access::Read>() and CopyOnWrite, and all a
  /// process gets on someone else's 0644 object. resize() and map<Access::Write>() then fail.
  static SharedMemoryObject open_read_only(std::string name);
  /// Same; errors go to ec (an empty object is returned).
  static SharedMemoryObject open_read_only(std::string name, std::error_code& ec) noexcept;
  /// Same for a C string (see create(const char*, mode, ec)).
  static SharedMemoryObject open_read_only(const char* name, std::error_code& ec) noexcept;
  /// Creates, or opens the existing one. Race-free: a peer creating or removing the name at the
  /// same time makes it retry, never fail spuriously. created() tells which happened. `mode`
  /// applies only when it creates. Syscalls: shm_open(O_CREAT|O_EXCL) and fchmod, or on EEXIST
  /// shm_open(O_RDWR), repeated while the name keeps appearing and vanishing (at most 100
  /// rounds, then EAGAIN). Errors: those of create() and open().
  static SharedMemoryObject open_or_create(std::string name, unsigned mode = 0600);
  /// Same; errors go to ec (an empty object is returned).
  static SharedMemoryObject open_or_create(std::string name, unsigned mode,
                                           std::error_code& ec) noexcept;
  /// Same for a C string (see create(const char*, mode, ec)).
  static SharedMemoryObject open_or_create(const char* name, unsigned mode,
                                           std::error_code& ec) noexcept;
  /// A fresh object named prefix + random suffix, created exclusively (retrying on collision): a
  /// private rendezvous point that no one can guess in advance. `prefix` starts with "/".
  /// Syscalls: getrandom, shm_open(O_CREAT|O_EXCL) (again on EEXIST, up to 100 times), fchmod.
  /// Errors name `prefix` (the caller's), never the random name tried, which no longer exists.
  static SharedMemoryObject create_unique(std::string prefix, unsigned mode = 0600);
  /// Same; errors go to ec (an empty object is returned).
  static SharedMemoryObject create_unique(std::string prefix, unsigned mode,
                                          std::error_code& ec) noexcept;
  /// Same for a C string (see create(const char*, mode, ec)).
  static SharedMemoryObject create_unique(const char* prefix, unsigned mode,
                                          std::error_code& ec) noexcept;

  /// shm_unlink by name, without opening it.
  static void remove(const std::string& name);
  /// Same; errors go to ec.
  static void remove(const std::string& name, std::error_code& ec) noexcept;
  /// Same for a C string (see create(const char*, mode, ec)).
  static void remove(const char* name, std::error_code& ec) noexcept;

  /// Takes over the descriptor and the remove-on-destroy duty; `other` is left empty.
  SharedMemoryObject(SharedMemoryObject&& other) noexcept;
  /// Closes this object (and, as the destructor, unlinks its name if remove-on-destroy was set
  /// in this process and the name still refers to this object),
  /// then takes over `other`.
  SharedMemoryObject& operator=(SharedMemoryObject&& other) noexcept;
  SharedMemoryObject(const SharedMemoryObject&) = delete;
  SharedMemoryObject& operator=(const SharedMemoryObject&) = delete;
  ~SharedMemoryObject();

  unsigned mode() const;  ///< permission bits, from fstat
  /// Same; errors go to ec (0 is returned).
  unsigned mode(std::error_code& ec) const noexcept;

  /// shm_unlink(name()): the name goes away, the memory lives while it is open or mapped. Also
  /// cancels remove-on-destroy.
  void unlink();
  /// Same; errors go to ec.
  void unlink(std::error_code& ec) noexcept;

  /// Owner mode: the destructor unlinks the name (errors ignored).
  void set_remove_on_destroy(bool remove) noexcept;
  /// Whether the destructor will unlink the name (in this process).
  bool remove_on_destroy() const noexcept { return owner_pid_ != 0; }

  /// Whether the factory that made this object created it (false when it opened an existing one).
  bool created() const noexcept { return created_; }

 private:
  enum class How { Create, Open, OpenReadOnly, OpenOrCreate, Unique };
  static detail::Failure make(How how, std::string& name, unsigned mode,
                              SharedMemoryObject& out) noexcept;
  static SharedMemoryObject make(How how, std::string name, unsigned mode);
  static SharedMemoryObject make(How how, std::string name, unsigned mode,
                                 std::error_code& ec) noexcept;
  void close() noexcept;

  bool created_ = false;
  int owner_pid_ = 0;  // != 0: unlink on destruction, in this process only
};

/// Whether `name` follows the rules above (no system call). The factories' errors say which rule.
bool is_valid_shm_name(const std::string& name) noexcept;

}  // namespace mmapxx
