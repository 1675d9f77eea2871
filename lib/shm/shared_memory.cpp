// SharedMemoryObject: named POSIX shared memory (include/mmapxx/shared_memory.hpp).
#include "mmapxx/shared_memory.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <new>
#include <string>
#include <utility>

#include "base/alloc.hpp"
#include "base/fd.hpp"
#include "shm/shm_name.hpp"

namespace mmapxx {

namespace {

// glibc adds O_NOFOLLOW|O_CLOEXEC itself; saying it here keeps that true on any libc.
constexpr int base_flags = O_CLOEXEC | O_NOFOLLOW;
constexpr std::size_t unique_suffix_length = 16;
constexpr int max_attempts = 100;

detail::Failure shm_open_fd(const std::string& name, int flags, unsigned mode, int& fd) noexcept {
  do {
    fd = ::shm_open(name.c_str(), flags | base_flags, static_cast<mode_t>(mode));
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) return detail::make_failure("shm_open", errno);
  return {};
}

// Exclusive create, then fchmod: until then the mode is (mode & ~umask), never wider than asked.
detail::Failure create_fd(const std::string& name, unsigned mode, int& fd) noexcept {
  if (detail::Failure failure = shm_open_fd(name, O_RDWR | O_CREAT | O_EXCL, mode, fd))
    return failure;
  if (detail::Failure failure = detail::chmod_fd(fd, mode)) {
    ::shm_unlink(name.c_str());  // we created it: leave no name behind
    detail::close_fd(fd);
    return failure;
  }
  return {};
}

detail::Failure unlink_name(const std::string& name) noexcept {
  if (::shm_unlink(name.c_str()) != 0) return detail::make_failure("shm_unlink", errno);
  return {};
}

// True when `name` still names the object open on `fd` (and not a successor created under the
// same name after an unlink by someone else). glibc keeps POSIX shm objects in /dev/shm.
bool still_named(int fd, const std::string& name) noexcept {
  struct stat mine {};
  struct stat named {};
  if (::fstat(fd, &mine) != 0) return false;
  char path[sizeof "/dev/shm" + NAME_MAX + 1];  // no allocation: this runs in a destructor
  if (std::snprintf(path, sizeof path, "/dev/shm%s", name.c_str()) >= int(sizeof path))
    return false;
  if (::lstat(path, &named) != 0) return false;
  return mine.st_dev == named.st_dev && mine.st_ino == named.st_ino;
}

}  // namespace

detail::Failure SharedMemoryObject::make(How how, std::string& name, unsigned mode,
                                         SharedMemoryObject& out) noexcept {
  return detail::no_throw("shm_open", [&]() -> detail::Failure {
    // Every path ends in shm_open(2), so every message names that one call.
    const char* operation = "shm_open";
    if (how != How::Open && how != How::OpenReadOnly)
      if (detail::Failure failure = detail::check_shm_mode(operation, mode)) return failure;
    if (how == How::Unique && name.find('\0') != std::string::npos) {
      return detail::check_shm_name(operation, name);  // shows the prefix, NUL escaped
    } else if (how == How::Unique) {
      // Check the longest name we could make, so a bad prefix fails before any system call.
      if (detail::Failure failure =
              detail::check_shm_name(operation, name + std::string(unique_suffix_length, 'x')))
        return failure;
    } else if (detail::Failure failure = detail::check_shm_name(operation, name)) {
      return failure;
    }

    int fd = -1;
    bool created = false;
    detail::Failure failure;
    switch (how) {
      case How::Create:
        failure = create_fd(name, mode, fd);
        created = !failure;
        break;
      case How::Open:
        failure = shm_open_fd(name, O_RDWR, 0, fd);
        break;
      case How::OpenReadOnly:
        failure = shm_open_fd(name, O_RDONLY, 0, fd);
        break;
      case How::OpenOrCreate:
        // Each step can lose a race (created, or removed, by a peer in between): retry both.
        failure = detail::make_failure("shm_open", EAGAIN, "the name kept appearing and vanishing");
        for (int attempt = 0; attempt < max_attempts; ++attempt) {
          detail::Failure create_failure = create_fd(name, mode, fd);
          if (!create_failure) {
            created = true;
            failure = {};
            break;
          }
          if (create_failure.code != EEXIST) {
            failure = std::move(create_failure);
            break;
          }
          detail::Failure open_failure = shm_open_fd(name, O_RDWR, 0, fd);
          if (!open_failure || open_failure.code != ENOENT) {
            failure = std::move(open_failure);
            break;
          }
        }
        break;
      case How::Unique: {
        // `name` (the caller's prefix) stays as given until success: a failure names the prefix
        // the caller knows, not a random name nobody will ever see again.
        std::string candidate;
        failure = detail::make_failure("shm_open", EEXIST, "no free random name found");
        for (int attempt = 0; attempt < max_attempts; ++attempt) {
          std::string suffix;
          if (detail::Failure random_failure =
                  detail::random_suffix(unique_suffix_length, suffix)) {
            failure = std::move(random_failure);
            break;
          }
          candidate = name + suffix;
          detail::Failure create_failure = create_fd(candidate, mode, fd);
          if (!create_failure || create_failure.code != EEXIST) {
            created = !create_failure;
            failure = std::move(create_failure);
            break;
          }
        }
        if (!failure) name = std::move(candidate);
        break;
      }
    }
    if (failure) return failure;
    out.close();
    out.name_ = std::move(name);
    out.fd_ = fd;
    out.created_ = created;
    out.owner_pid_ = 0;
    return {};
  });
}

// Every factory comes in the two forms of the API; `name` is the caller's (the prefix for
// create_unique), which is what a failure names.
SharedMemoryObject SharedMemoryObject::make(How how, std::string name, unsigned mode) {
  SharedMemoryObject object;
  if (detail::Failure failure = make(how, name, mode, object)) detail::raise(failure, name);
  return object;
}

SharedMemoryObject SharedMemoryObject::make(How how, std::string name, unsigned mode,
                                            std::error_code& ec) noexcept {
  SharedMemoryObject object;
  detail::report(make(how, name, mode, object), ec);
  return object;
}

namespace {

// The const char* forms copy the name here, inside noexcept, so that a bad_alloc is reported.
template <class Call>
auto with_copied_name(const char* name, std::error_code& ec, Call call) noexcept
    -> decltype(call(std::string())) {
  if (name == nullptr) {
    ec = std::make_error_code(std::errc::invalid_argument);
    return {};
  }
  try {
    return call(std::string(name));
  } catch (const std::bad_alloc&) {
    ec = std::make_error_code(std::errc::not_enough_memory);
    return {};
  }
}

}  // namespace

SharedMemoryObject SharedMemoryObject::create(const char* name, unsigned mode,
                                              std::error_code& ec) noexcept {
  return with_copied_name(name, ec, [&](std::string n) { return create(std::move(n), mode, ec); });
}

SharedMemoryObject SharedMemoryObject::open(const char* name, std::error_code& ec) noexcept {
  return with_copied_name(name, ec, [&](std::string n) { return open(std::move(n), ec); });
}

SharedMemoryObject SharedMemoryObject::open_read_only(const char* name,
                                                      std::error_code& ec) noexcept {
  return with_copied_name(name, ec,
                          [&](std::string n) { return open_read_only(std::move(n), ec); });
}

SharedMemoryObject SharedMemoryObject::open_or_create(const char* name, unsigned mode,
                                                      std::error_code& ec) noexcept {
  return with_copied_name(name, ec,
                          [&](std::string n) { return open_or_create(std::move(n), mode, ec); });
}

SharedMemoryObject SharedMemoryObject::create_unique(const char* prefix, unsigned mode,
                                                     std::error_code& ec) noexcept {
  return with_copied_name(prefix, ec,
                          [&](std::string n) { return create_unique(std::move(n), mode, ec); });
}

void SharedMemoryObject::remove(const char* name, std::error_code& ec) noexcept {
  struct Done {};
  with_copied_name(name, ec, [&](const std::string& n) {
    remove(n, ec);
    return Done{};
  });
}

SharedMemoryObject SharedMemoryObject::create(std::string name, unsigned mode) {
  return make(How::Create, std::move(name), mode);
}

SharedMemoryObject SharedMemoryObject::create(std::string name, unsigned mode,
                                              std::error_code& ec) noexcept {
  return make(How::Create, std::move(name), mode, ec);
}

SharedMemoryObject SharedMemoryObject::open(std::string name) {
  return make(How::Open, std::move(name), 0);
}

SharedMemoryObject SharedMemoryObject::open(std::string name, std::error_code& ec) noexcept {
  return make(How::Open, std::move(name), 0, ec);
}

SharedMemoryObject SharedMemoryObject::open_read_only(std::string name) {
  return make(How::OpenReadOnly, std::move(name), 0);
}

SharedMemoryObject SharedMemoryObject::open_read_only(std::string name,
                                                      std::error_code& ec) noexcept {
  return make(How::OpenReadOnly, std::move(name), 0, ec);
}

SharedMemoryObject SharedMemoryObject::open_or_create(std::string name, unsigned mode) {
  return make(How::OpenOrCreate, std::move(name), mode);
}

SharedMemoryObject SharedMemoryObject::open_or_create(std::string name, unsigned mode,
                                                      std::error_code& ec) noexcept {
  return make(How::OpenOrCreate, std::move(name), mode, ec);
}

SharedMemoryObject SharedMemoryObject::create_unique(std::string prefix, unsigned mode) {
  return make(How::Unique, std::move(prefix), mode);
}

SharedMemoryObject SharedMemoryObject::create_unique(std::string prefix, unsigned mode,
                                                     std::error_code& ec) noexcept {
  return make(How::Unique, std::move(prefix), mode, ec);
}

void SharedMemoryObject::remove(const std::string& name) {
  if (detail::Failure failure = detail::check_shm_name("shm_unlink", name))
    detail::raise(failure, name);
  if (detail::Failure failure = unlink_name(name)) detail::raise(failure, name);
}

void SharedMemoryObject::remove(const std::string& name, std::error_code& ec) noexcept {
  if (detail::report(detail::check_shm_name("shm_unlink", name), ec)) return;
  detail::report(unlink_name(name), ec);
}

SharedMemoryObject::SharedMemoryObject(SharedMemoryObject&& other) noexcept
    : detail::MemoryObject(std::move(other)),
      created_(std::exchange(other.created_, false)),
      owner_pid_(std::exchange(other.owner_pid_, 0)) {}

SharedMemoryObject& SharedMemoryObject::operator=(SharedMemoryObject&& other) noexcept {
  if (this != &other) {
    close();
    detail::MemoryObject::operator=(std::move(other));
    created_ = std::exchange(other.created_, false);
    owner_pid_ = std::exchange(other.owner_pid_, 0);
  }
  return *this;
}

SharedMemoryObject::~SharedMemoryObject() {
  close();
}

void SharedMemoryObject::close() noexcept {
  if (fd_ >= 0 && owner_pid_ == ::getpid() && still_named(fd_, name_)) ::shm_unlink(name_.c_str());
  owner_pid_ = 0;
  detail::close_fd(fd_);
}

void SharedMemoryObject::set_remove_on_destroy(bool remove) noexcept {
  owner_pid_ = remove ? ::getpid() : 0;
}

namespace {

detail::Failure stat_mode(int fd, unsigned& mode) noexcept {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return detail::make_failure("fstat", errno);
  mode = static_cast<unsigned>(st.st_mode) & 07777u;
  return {};
}

}  // namespace

unsigned SharedMemoryObject::mode() const {
  unsigned mode = 0;
  if (detail::Failure failure = stat_mode(fd_, mode)) detail::raise(failure, name_);
  return mode;
}

unsigned SharedMemoryObject::mode(std::error_code& ec) const noexcept {
  unsigned mode = 0;
  detail::report(stat_mode(fd_, mode), ec);
  return mode;
}

void SharedMemoryObject::unlink() {
  owner_pid_ = 0;
  if (detail::Failure failure = unlink_name(name_)) detail::raise(failure, name_);
}

void SharedMemoryObject::unlink(std::error_code& ec) noexcept {
  owner_pid_ = 0;
  detail::report(unlink_name(name_), ec);
}

bool is_valid_shm_name(const std::string& name) noexcept {
  return !detail::check_shm_name("shm_open", name);
}

}  // namespace mmapxx
