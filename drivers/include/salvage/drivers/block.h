// salvage::drivers — the contract every block device driver meets (virtio-blk, SD).
//
// Writes are asynchronous so that several large requests can be in flight: StartWrite
// queues one and returns a ticket; the caller keeps the buffer unchanged until Wait on
// that ticket (or WaitAll) returns. Reads are synchronous (partition tables only).
// Buffers must be memory the device can reach by its physical address (salvage runs
// identity-mapped, so any buffer in RAM qualifies on the boards it supports).
#pragma once

#include <concepts>
#include <cstdint>
#include <span>

#include <salvage/base/status.h>

namespace salvage::drivers {

/// A block device:
///   SectorSize()              bytes per sector (512 for virtio-blk's addressing).
///   SectorCount()             capacity in sectors.
///   Read(lba, dst)            reads dst.size() bytes (whole sectors) from lba; waits.
///   StartWrite(lba, src)      queues a write of src (whole sectors) at lba; returns a
///                             ticket, or kResourceExhausted when every slot is busy
///                             (Wait for one, then retry).
///   Wait(ticket)              waits for that write; its Status.
///   WaitAll()                 waits for every queued write; the first error.
///   Flush()                   WaitAll, then a cache flush when the device offers one.
///   MaxTransfer()             the largest src a single StartWrite accepts, in bytes.
///   Name()                    "virtio-blk".
template <class T>
concept BlockDevice = requires(T& d, uint64_t lba, std::span<uint8_t> dst, std::span<const uint8_t> src,
                               uint32_t ticket) {
  { d.SectorSize() } -> std::same_as<uint32_t>;
  { d.SectorCount() } -> std::same_as<uint64_t>;
  { d.Read(lba, dst) } -> std::same_as<Status>;
  { d.StartWrite(lba, src) } -> std::same_as<Result<uint32_t>>;
  { d.Wait(ticket) } -> std::same_as<Status>;
  { d.WaitAll() } -> std::same_as<Status>;
  { d.Flush() } -> std::same_as<Status>;
  { d.MaxTransfer() } -> std::same_as<uint32_t>;
  { T::Name() } -> std::convertible_to<const char*>;
};

}  // namespace salvage::drivers
