// One memory object mapped twice, back to back, inside one reservation: mmapxx/mirrored_buffer.hpp.
#include "mmapxx/mirrored_buffer.hpp"

#include <cerrno>
#include <cinttypes>
#include <new>
#include <string>

#include "mmapxx/page.hpp"

namespace mmapxx {

namespace {

detail::Failure check_size(std::size_t size) noexcept {
  if (size == 0 || size % page_size() != 0 || size > SIZE_MAX / 4)
    return detail::invalid_argument(
        "mirror", "size %zu is not a non-zero multiple of the page size %zu", size, page_size());
  return {};
}

}  // namespace

MirroredBuffer::MirroredBuffer(std::size_t size, const std::string& name) {
  if (detail::Failure failure = make(size, name)) detail::raise(failure, name);
}

MirroredBuffer MirroredBuffer::create(std::size_t size, const std::string& name,
                                      std::error_code& ec) noexcept {
  MirroredBuffer buffer;
  if (detail::report(buffer.make(size, name), ec)) return {};
  return buffer;
}

MirroredBuffer::MirroredBuffer(const detail::MemoryObject& memory, std::uint64_t offset,
                               std::size_t size) {
  if (detail::Failure failure = mirror(memory, offset, size)) detail::raise(failure, memory.name());
}

MirroredBuffer MirroredBuffer::create(const detail::MemoryObject& memory, std::uint64_t offset,
                                      std::size_t size, std::error_code& ec) noexcept {
  MirroredBuffer buffer;
  if (detail::report(buffer.mirror(memory, offset, size), ec)) return {};
  return buffer;
}

detail::Failure MirroredBuffer::make(std::size_t size, const std::string& name) noexcept {
  if (detail::Failure f = check_size(size)) return f;
  std::error_code ec;
  SealedMemory memory = SealedMemory::create(name, size, ec);
  if (!ec) memory.seal(fixed_size, ec);
  if (ec) return detail::make_failure("memfd_create", ec.value(), "for a mirrored buffer");
  if (detail::Failure f = mirror(memory, 0, size)) return f;
  memory_ = std::move(memory);
  return {};
}

detail::Failure MirroredBuffer::mirror(const detail::MemoryObject& memory, std::uint64_t offset,
                                       std::size_t size) noexcept {
  if (detail::Failure f = check_size(size)) return f;
  if (offset % page_size() != 0)
    return detail::invalid_argument("mirror", "offset %" PRIu64 " is not a page multiple", offset);
  std::error_code ec;
  AddressReservation reservation = AddressReservation::create(2 * size, ec);
  if (ec) return detail::make_failure("mmap", ec.value(), "reserving twice the buffer size");
  // Both halves map the same bytes of the object; MappedFile checks they lie inside it.
  MappedFile<Access::Write> first = memory.map<Access::Write>(
      {.offset = offset, .length = size, .placement = reservation.at(0)}, ec);
  if (ec) return detail::make_failure("mmap", ec.value(), "first half of the mirror");
  MappedFile<Access::Write> second = memory.map<Access::Write>(
      {.offset = offset, .length = size, .placement = reservation.at(size)}, ec);
  if (ec) return detail::make_failure("mmap", ec.value(), "second half of the mirror");
  second_ = MappedFile<Access::Write>();
  first_ = MappedFile<Access::Write>();
  reservation_ = std::move(reservation);
  first_ = std::move(first);
  second_ = std::move(second);
  return {};
}

}  // namespace mmapxx
