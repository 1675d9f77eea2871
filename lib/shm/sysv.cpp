// SysVSharedMemory: System V segments, created, attached and removed (include/mmapxx/sysv.hpp).
#include "mmapxx/sysv.hpp"

#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>

#include "base/alloc.hpp"
#include "mmapxx/page.hpp"
#include "shm/shm_name.hpp"

namespace mmapxx {

namespace {

detail::NumberLabel id_name(int id) noexcept {
  return {"shmid", id};
}

detail::NumberLabel key_name(key_t key) noexcept {
  detail::NumberLabel label{"key", key};
  if (key == IPC_PRIVATE) std::snprintf(label.text, sizeof label.text, "IPC_PRIVATE");
  return label;
}

detail::Failure remove_segment(int id) noexcept {
  if (::shmctl(id, IPC_RMID, nullptr) != 0) return detail::make_failure("shmctl(IPC_RMID)", errno);
  return {};
}

detail::Failure create_segment(std::size_t size, unsigned mode, key_t key, int& id) noexcept {
  return detail::no_throw("shmget", [&]() -> detail::Failure {
    if (size == 0) return detail::invalid_argument("shmget", "size is zero");
    // The kernel rounds the size up to whole pages: near 2^64 that sum wraps.
    if (size > SIZE_MAX - (page_size() - 1))
      return detail::make_failure("shmget", EOVERFLOW,
                                  "size %zu rounded up to whole pages passes 2^64", size);
    if (detail::Failure failure = detail::check_shm_mode("shmget", mode)) return failure;
    id = ::shmget(key, size, IPC_CREAT | IPC_EXCL | static_cast<int>(mode));
    if (id < 0) return detail::make_failure("shmget", errno, "size=%zu", size);
    return {};
  });
}

detail::Failure lookup_segment(key_t key, int& id) noexcept {
  if (key == IPC_PRIVATE)
    return detail::invalid_argument("shmget", "IPC_PRIVATE names no existing segment");
  id = ::shmget(key, 0, 0);
  if (id < 0) return detail::make_failure("shmget", errno);
  return {};
}

}  // namespace

detail::Failure SysVSharedMemory::attach_into(int id, bool read_only,
                                              SysVSharedMemory& out) noexcept {
  if (id < 0) return detail::invalid_argument("shmat", "id is negative");
  shmid_ds info{};
  if (::shmctl(id, IPC_STAT, &info) != 0) return detail::make_failure("shmctl(IPC_STAT)", errno);
  void* address = ::shmat(id, nullptr, read_only ? SHM_RDONLY : 0);
  if (address == reinterpret_cast<void*>(-1)) return detail::make_failure("shmat", errno);
  out = SysVSharedMemory();
  out.id_ = id;
  out.data_ = static_cast<std::byte*>(address);
  out.size_ = info.shm_segsz;
  out.read_only_ = read_only;
  return {};
}

SysVSharedMemory SysVSharedMemory::create(std::size_t size, unsigned mode, key_t key) {
  int id = -1;
  if (detail::Failure failure = create_segment(size, mode, key, id))
    detail::raise(failure, key_name(key).text);
  SysVSharedMemory segment;
  if (detail::Failure failure = attach_into(id, false, segment)) {
    remove_segment(id);  // ours, and unusable: leave nothing in ipcs
    detail::raise(failure, id_name(id).text);
  }
  segment.owner_pid_ = ::getpid();
  return segment;
}

SysVSharedMemory SysVSharedMemory::create(std::size_t size, unsigned mode, key_t key,
                                          std::error_code& ec) noexcept {
  int id = -1;
  if (detail::report(create_segment(size, mode, key, id), ec)) return {};
  SysVSharedMemory segment;
  if (detail::report(attach_into(id, false, segment), ec)) {
    remove_segment(id);
    return {};
  }
  segment.owner_pid_ = ::getpid();
  return segment;
}

SysVSharedMemory SysVSharedMemory::attach(int id, bool read_only) {
  SysVSharedMemory segment;
  if (detail::Failure failure = attach_into(id, read_only, segment))
    detail::raise(failure, id_name(id).text);
  return segment;
}

SysVSharedMemory SysVSharedMemory::attach(int id, bool read_only, std::error_code& ec) noexcept {
  SysVSharedMemory segment;
  detail::report(attach_into(id, read_only, segment), ec);
  return segment;
}

SysVSharedMemory SysVSharedMemory::open(key_t key, bool read_only) {
  int id = -1;
  if (detail::Failure failure = lookup_segment(key, id)) detail::raise(failure, key_name(key).text);
  return attach(id, read_only);
}

SysVSharedMemory SysVSharedMemory::open(key_t key, bool read_only, std::error_code& ec) noexcept {
  int id = -1;
  if (detail::report(lookup_segment(key, id), ec)) return {};
  return attach(id, read_only, ec);
}

SysVSharedMemory& SysVSharedMemory::operator=(SysVSharedMemory&& other) noexcept {
  if (this != &other) {
    release();
    id_ = std::exchange(other.id_, -1);
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    read_only_ = other.read_only_;
    owner_pid_ = std::exchange(other.owner_pid_, 0);
  }
  return *this;
}

SysVSharedMemory::~SysVSharedMemory() {
  release();
}

void SysVSharedMemory::release() noexcept {
  if (data_ != nullptr) ::shmdt(data_);
  if (id_ >= 0 && owner_pid_ == ::getpid()) remove_segment(id_);
  id_ = -1;
  data_ = nullptr;
  size_ = 0;
  owner_pid_ = 0;
}

void SysVSharedMemory::remove() {
  owner_pid_ = 0;
  if (detail::Failure failure = remove_segment(id_)) detail::raise(failure, id_name(id_).text);
}

void SysVSharedMemory::remove(std::error_code& ec) noexcept {
  owner_pid_ = 0;
  detail::report(remove_segment(id_), ec);
}

void SysVSharedMemory::set_remove_on_destroy(bool remove) noexcept {
  owner_pid_ = remove && id_ >= 0 ? ::getpid() : 0;
}

}  // namespace mmapxx
