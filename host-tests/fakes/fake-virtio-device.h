// salvage::testing — a behavioural fake of a virtio-mmio block device (test-only; uses
// GoogleTest and the host standard library).
//
// FakeVirtioBlkDevice keeps a register file (virtio 1.2 §4.2.2, legacy §4.2.4), a RAM
// disk and a map of "physical" memory; FakeVirtioIo is the small handle a driver copies
// (it satisfies drivers::Io). On a QueueNotify the device walks the available ring in
// the mapped memory, checks each chain as virtio-blk expects it (§5.2.6: 16-byte header,
// data, 1-byte status), and either completes it at once or after a number of polls
// (InterruptStatus reads), so several requests can be in flight. Completing a request
// performs it on the RAM disk, writes the status byte and adds a used element.
//
// The fake is written from the spec, not from the driver: offsets and bit values are
// literals here, the legacy queue layout is computed here. It reports protocol errors
// the driver makes as test failures: reading a write-only register, touching a legacy
// register on a modern device (or the reverse), non-32-bit control accesses, a
// descriptor address outside mapped memory, notifying before DRIVER_OK, changing a live
// queue, clearing status bits, features outside the offer, and more (see Fault()).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <salvage/drivers/io.h>

namespace salvage::testing {

/// How a FakeVirtioBlkDevice behaves. The defaults are a healthy modern disk of 1 MiB.
struct FakeVirtioBlkOptions {
  uint32_t magic = 0x74726976;
  uint32_t version = 2;           ///< 1 legacy, 2 modern; anything else to test Probe.
  uint32_t device_id = 2;         ///< 2 = block.
  uint32_t vendor_id = 0x554d4551;
  uint64_t capacity_sectors = 2048;
  uint32_t queue_num_max = 256;
  bool offer_flush = true;        ///< VIRTIO_BLK_F_FLUSH (bit 9).
  bool offer_version_1 = true;    ///< VIRTIO_F_VERSION_1 (bit 32), modern only.
  uint64_t extra_features = 0;    ///< Further bits offered (the driver must not take them).
  uint32_t size_max = 0;          ///< Non-zero: offer VIRTIO_BLK_F_SIZE_MAX (bit 1) with this value.
  bool read_only = false;         ///< Offer VIRTIO_BLK_F_RO (bit 5); writes fail with IOERR.
  bool refuse_features_ok = false;  ///< Modern: never let FEATURES_OK stick.

  /// 0: requests complete during the QueueNotify write. N: each completes on the Nth
  /// InterruptStatus read after it was queued.
  uint32_t complete_after_polls = 0;
  bool never_complete = false;
  bool reverse_completion = false;  ///< Requests due together complete newest first.
  std::optional<uint64_t> fail_sector;  ///< A request covering it fails with fail_status.
  uint8_t fail_status = 1;              ///< 1 IOERR, 2 UNSUPP.
  bool skip_status_write = false;       ///< Complete requests without writing the status.

  uint32_t reset_busy_reads = 0;       ///< Status reads that still show the old value after a reset.
  bool queue_ready_survives_reset = false;  ///< A broken reset: QueueReady/QueuePFN stay set.
  uint32_t config_generation_changes = 0;   ///< The next N config reads each bump ConfigGeneration.
};

/// One request as the device received it.
struct FakeVirtioRequest {
  uint32_t type = 0;     ///< 0 IN, 1 OUT, 4 FLUSH.
  uint64_t sector = 0;
  uint32_t bytes = 0;    ///< Data bytes.
  uint8_t status = 0xff; ///< Status written on completion (0xff while pending).
  size_t in_flight_before = 0;  ///< Requests pending when this one arrived.
};

class FakeVirtioBlkDevice {
 public:
  explicit FakeVirtioBlkDevice(FakeVirtioBlkOptions options = {})
      : options_(options), disk_(options.capacity_sectors * 512, 0) {}
  FakeVirtioBlkDevice(const FakeVirtioBlkDevice&) = delete;
  FakeVirtioBlkDevice& operator=(const FakeVirtioBlkDevice&) = delete;

  /// Makes `host` visible to the device at physical address `phys`.
  void MapDma(std::span<uint8_t> host, uint64_t phys) { regions_.push_back({host.data(), phys, host.size()}); }

  /// Puts the device in the state a crashed kernel leaves: DRIVER_OK, queue 0 live in
  /// memory the fake owns, and one write of 0xee bytes to `sector` made available but not
  /// yet processed, interrupt pending. A driver that does not reset will have it run.
  void LeaveStale(uint64_t sector) {
    stale_memory_.assign(3 * 4096 + 4096, 0);
    uint8_t* base = stale_memory_.data() + (4096 - reinterpret_cast<uintptr_t>(stale_memory_.data()) % 4096);
    const uint64_t phys = 0x7000'0000;
    MapDma(std::span<uint8_t>(base, 3 * 4096), phys);
    const uint32_t num = 8;
    // Descriptor table at 0: header (phys+0x1000), data (phys+0x1200, 512), status (phys+0x1010).
    auto desc = [&](uint32_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next) {
      std::memcpy(base + 16 * i, &addr, 8);
      std::memcpy(base + 16 * i + 8, &len, 4);
      std::memcpy(base + 16 * i + 12, &flags, 2);
      std::memcpy(base + 16 * i + 14, &next, 2);
    };
    desc(0, phys + 0x2000, 16, 1, 1);
    desc(1, phys + 0x2200, 512, 1, 2);
    desc(2, phys + 0x2010, 1, 2, 0);
    const uint32_t header[4] = {1, 0, static_cast<uint32_t>(sector), static_cast<uint32_t>(sector >> 32)};
    std::memcpy(base + 0x2000, header, 16);
    std::memset(base + 0x2200, 0xee, 512);
    // Available ring right after the descriptors (legacy layout works for both): idx 1, ring[0] = 0.
    const uint16_t avail[3] = {0, 1, 0};
    std::memcpy(base + 16 * num, avail, sizeof(avail));
    queue_num_ = num;
    guest_page_size_ = 4096;
    queue_align_ = 4096;
    desc_addr_ = phys;
    driver_addr_ = phys + 16 * num;
    device_addr_ = phys + 0x1000;
    if (legacy()) {
      queue_pfn_ = static_cast<uint32_t>(phys / 4096);
    } else {
      queue_ready_ = 1;
    }
    status_ = 0x1 | 0x2 | 0x4 | (legacy() ? 0 : 0x8);
    interrupt_status_ = 1;
    last_avail_ = 0;
  }

  /// Sets DEVICE_NEEDS_RESET and raises a configuration change interrupt (§2.1.2).
  void RaiseNeedsReset() {
    status_ |= 0x40;
    interrupt_status_ |= 0x2;
  }

  /// Completes every pending request now.
  void CompleteAllPending() { CompleteDue(/*all=*/true); }

  // What the test inspects.
  std::vector<uint8_t>& disk() { return disk_; }
  const std::vector<FakeVirtioRequest>& requests() const { return requests_; }  ///< In arrival order.
  const std::vector<size_t>& completion_order() const { return completion_order_; }  ///< Indices into requests().
  size_t max_in_flight() const { return max_in_flight_; }
  size_t pending() const { return pending_.size(); }
  uint32_t resets() const { return resets_; }
  uint32_t interrupt_status_reads() const { return interrupt_status_reads_; }
  uint32_t config_generation_reads() const { return config_generation_reads_; }
  uint32_t status() const { return status_; }
  uint64_t driver_features() const { return driver_features_; }
  uint32_t queue_num() const { return queue_num_; }
  uint32_t guest_page_size() const { return guest_page_size_; }
  uint32_t queue_align() const { return queue_align_; }
  uint32_t queue_pfn() const { return queue_pfn_; }
  uint32_t queue_ready() const { return queue_ready_; }
  uint64_t desc_addr() const { return desc_addr_; }
  uint64_t driver_addr() const { return driver_addr_; }
  uint64_t device_addr() const { return device_addr_; }
  uint32_t notifies() const { return notifies_; }
  uint32_t stale_ready_writes() const { return stale_ready_writes_; }
  uint64_t offered_features() const {
    uint64_t f = options_.extra_features;
    if (options_.offer_flush) f |= uint64_t{1} << 9;
    if (options_.size_max != 0) f |= uint64_t{1} << 1;
    if (options_.read_only) f |= uint64_t{1} << 5;
    if (!legacy() && options_.offer_version_1) f |= uint64_t{1} << 32;
    if (legacy()) f &= 0xffff'ffffu;
    return f;
  }

  // The Io side (through FakeVirtioIo).
  uint32_t Read32(uint32_t offset) {
    if (offset >= 0x100) return ReadConfig(offset - 0x100, 4);
    CheckControlAccess(offset, "Read32");
    switch (offset) {
      case 0x000: return options_.magic;
      case 0x004: return options_.version;
      case 0x008: return options_.device_id;
      case 0x00c: return options_.vendor_id;
      case 0x010:
        if (!device_features_sel_written_) Fault("DeviceFeatures read before DeviceFeaturesSel was written");
        if (device_features_sel_ > 1) return 0;
        return static_cast<uint32_t>(offered_features() >> (32 * device_features_sel_));
      case 0x034:
        if (legacy() && queue_sel_ == 0 && queue_pfn_ != 0) Fault("QueueNumMax read while QueuePFN is set (§4.2.4)");
        return queue_sel_ == 0 ? options_.queue_num_max : 0;
      case 0x040:
        if (!legacy()) Fault("QueuePFN (legacy) read on a modern device");
        return queue_sel_ == 0 ? queue_pfn_ : 0;
      case 0x044:
        if (legacy()) Fault("QueueReady (modern) read on a legacy device");
        return queue_sel_ == 0 ? queue_ready_ : 0;
      case 0x060: {
        ++interrupt_status_reads_;
        Tick();
        return interrupt_status_;
      }
      case 0x070:
        if (busy_reads_left_ > 0) {
          --busy_reads_left_;
          return busy_status_;
        }
        return status_;
      case 0x0fc:
        if (legacy()) Fault("ConfigGeneration read on a legacy device");
        ++config_generation_reads_;
        return generation_;
      default:
        Fault("read of a write-only or reserved register 0x" + Hex(offset));
        return 0;
    }
  }

  void Write32(uint32_t offset, uint32_t value) {
    if (offset >= 0x100) {
      Fault("write to the configuration space");
      return;
    }
    CheckControlAccess(offset, "Write32");
    if (status_ & 0x80 && offset != 0x070) Fault("register written after FAILED was set");
    switch (offset) {
      case 0x014:
        device_features_sel_ = value;
        device_features_sel_written_ = true;
        return;
      case 0x020:
        if (!driver_features_sel_written_) Fault("DriverFeatures written before DriverFeaturesSel");
        if (status_ & 0x8) Fault("DriverFeatures written after FEATURES_OK");
        if (legacy() && driver_features_sel_ != 0) {
          Fault("legacy GuestFeatures written with GuestFeaturesSel != 0");
          return;
        }
        if (driver_features_sel_ <= 1) {
          const int shift = 32 * static_cast<int>(driver_features_sel_);
          driver_features_ = (driver_features_ & ~(uint64_t{0xffff'ffff} << shift)) | uint64_t{value} << shift;
        }
        return;
      case 0x024:
        driver_features_sel_ = value;
        driver_features_sel_written_ = true;
        return;
      case 0x028:
        if (!legacy()) Fault("GuestPageSize (legacy) written on a modern device");
        guest_page_size_ = value;
        return;
      case 0x030: queue_sel_ = value; return;
      case 0x038:
        CheckQueueIdle("QueueNum");
        if (value > options_.queue_num_max || value == 0 || (value & (value - 1)) != 0) {
          Fault("QueueNum " + std::to_string(value) + " is not a power of 2 up to QueueNumMax");
        }
        if (queue_sel_ == 0) queue_num_ = value;
        return;
      case 0x03c:
        if (!legacy()) Fault("QueueAlign (legacy) written on a modern device");
        queue_align_ = value;
        return;
      case 0x040:
        if (!legacy()) Fault("QueuePFN (legacy) written on a modern device");
        if (queue_sel_ != 0) return;
        if (value == 0) {
          queue_pfn_ = 0;
          return;
        }
        if (guest_page_size_ == 0) Fault("QueuePFN written before GuestPageSize");
        if (queue_align_ == 0) Fault("QueuePFN written before QueueAlign");
        if (queue_pfn_ != 0) Fault("QueuePFN written while the queue is in use");
        queue_pfn_ = value;
        // §2.7.2: descriptors, available ring (with used_event), padding to QueueAlign, used ring.
        desc_addr_ = uint64_t{value} * guest_page_size_;
        driver_addr_ = desc_addr_ + 16ull * queue_num_;
        device_addr_ = AlignUp(driver_addr_ + 6 + 2ull * queue_num_, queue_align_);
        last_avail_ = 0;
        used_idx_ = 0;
        return;
      case 0x044:
        if (legacy()) Fault("QueueReady (modern) written on a legacy device");
        if (queue_sel_ != 0) return;
        if (value == 1 && queue_ready_ == 0) {
          if (desc_addr_ % 16 || driver_addr_ % 2 || device_addr_ % 4) Fault("misaligned queue areas");
          last_avail_ = 0;
          used_idx_ = 0;
        }
        if (value == 0 && queue_ready_ != 0) ++stale_ready_writes_;
        queue_ready_ = value;
        return;
      case 0x050: Notify(value); return;
      case 0x064: interrupt_status_ &= ~value; return;
      case 0x070: WriteStatus(value); return;
      case 0x080: SetLow(desc_addr_, value, "QueueDescLow"); return;
      case 0x084: SetHigh(desc_addr_, value, "QueueDescHigh"); return;
      case 0x090: SetLow(driver_addr_, value, "QueueDriverLow"); return;
      case 0x094: SetHigh(driver_addr_, value, "QueueDriverHigh"); return;
      case 0x0a0: SetLow(device_addr_, value, "QueueDeviceLow"); return;
      case 0x0a4: SetHigh(device_addr_, value, "QueueDeviceHigh"); return;
      default: Fault("write to a read-only or reserved register 0x" + Hex(offset)); return;
    }
  }

  uint8_t Read8(uint32_t offset) {
    if (offset < 0x100) {
      Fault("8-bit read of control register 0x" + Hex(offset) + " (must be 32-bit)");
      return 0;
    }
    return static_cast<uint8_t>(ReadConfig(offset - 0x100, 1));
  }

  void Write8(uint32_t offset, uint8_t) { Fault("8-bit write at 0x" + Hex(offset)); }

 private:
  struct Region {
    uint8_t* host;
    uint64_t phys;
    size_t size;
  };
  struct Pending {
    size_t request;      ///< Index into requests_.
    uint16_t head;
    uint32_t polls_left;
    std::vector<std::pair<uint64_t, uint32_t>> data;  ///< Data descriptors (phys, len).
    uint64_t status_addr;
  };

  bool legacy() const { return options_.version == 1; }

  static std::string Hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof(buf), "%llx", static_cast<unsigned long long>(v));
    return buf;
  }
  static uint64_t AlignUp(uint64_t v, uint64_t a) { return a == 0 ? v : (v + a - 1) / a * a; }

  void Fault(const std::string& what) { ADD_FAILURE() << "fake virtio-blk: driver protocol error: " << what; }

  void CheckControlAccess(uint32_t offset, const char* how) {
    if (offset % 4 != 0) Fault(std::string(how) + " at unaligned offset 0x" + Hex(offset));
    // §4.2.3.1.1: after DeviceID reads 0 (or the magic/version are wrong) nothing else is touched.
    const bool probe_register = offset <= 0x008;
    if (!probe_register && (options_.device_id == 0 || options_.magic != 0x74726976 ||
                            (options_.version != 1 && options_.version != 2))) {
      Fault("register 0x" + Hex(offset) + " accessed on a device the driver must ignore");
    }
  }

  void CheckQueueIdle(const char* reg) {
    if (queue_sel_ == 0 && (queue_ready_ != 0 || queue_pfn_ != 0)) {
      Fault(std::string(reg) + " written while queue 0 is in use");
    }
  }
  void SetLow(uint64_t& reg, uint32_t value, const char* name) {
    if (legacy()) Fault(std::string(name) + " (modern) written on a legacy device");
    CheckQueueIdle(name);
    if (queue_sel_ == 0) reg = (reg & ~uint64_t{0xffff'ffff}) | value;
  }
  void SetHigh(uint64_t& reg, uint32_t value, const char* name) {
    if (legacy()) Fault(std::string(name) + " (modern) written on a legacy device");
    CheckQueueIdle(name);
    if (queue_sel_ == 0) reg = (reg & 0xffff'ffffu) | uint64_t{value} << 32;
  }

  uint32_t ReadConfig(uint32_t offset, int width) {
    if (options_.device_id == 0) Fault("configuration read on an empty slot");
    if (options_.config_generation_changes > 0) {
      --options_.config_generation_changes;
      ++generation_;
    }
    // struct virtio_blk_config (§5.2.4): capacity le64 @0, size_max le32 @8, seg_max le32 @12.
    uint8_t config[0x40] = {};
    const uint64_t capacity = options_.capacity_sectors;
    std::memcpy(config, &capacity, 8);
    std::memcpy(config + 8, &options_.size_max, 4);
    const uint32_t seg_max = 126;
    std::memcpy(config + 12, &seg_max, 4);
    if (offset + width > sizeof(config)) {
      Fault("configuration read beyond virtio_blk_config");
      return 0;
    }
    if (width == 4 && offset % 4 != 0) Fault("unaligned 32-bit configuration read");
    if (offset == 8 && options_.size_max == 0) Fault("size_max read without VIRTIO_BLK_F_SIZE_MAX offered");
    uint32_t v = 0;
    std::memcpy(&v, config + offset, width);
    return v;
  }

  void WriteStatus(uint32_t value) {
    if (value == 0) {
      Reset();
      return;
    }
    if ((value & status_) != status_) Fault("Status write clears bits (only a reset may)");
    const uint32_t added = value & ~status_;
    if (added & 0x8) {
      if (legacy()) Fault("FEATURES_OK set on a legacy device");
      const bool subset = (driver_features_ & ~offered_features()) == 0;
      if (!subset || options_.refuse_features_ok) value &= ~0x8u;
    }
    if (added & 0x4) {
      if (!legacy() && !(value & 0x8)) Fault("DRIVER_OK set without FEATURES_OK on a modern device");
      if (!(value & 0x1) || !(value & 0x2)) Fault("DRIVER_OK set without ACKNOWLEDGE and DRIVER");
      if (legacy() && (driver_features_ & ~offered_features()) != 0) Fault("legacy features outside the offer");
    }
    status_ = value;
  }

  void Reset() {
    ++resets_;
    busy_status_ = status_ != 0 ? status_ : 0x1;  // Any non-zero value: "still resetting".
    busy_reads_left_ = options_.reset_busy_reads;
    status_ = 0;
    driver_features_ = 0;
    device_features_sel_written_ = false;
    driver_features_sel_written_ = false;
    interrupt_status_ = 0;
    pending_.clear();
    if (!options_.queue_ready_survives_reset) {
      queue_ready_ = 0;
      queue_pfn_ = 0;
    }
    last_avail_ = 0;
    used_idx_ = 0;
  }

  uint8_t* Host(uint64_t phys, uint64_t len) {
    for (const Region& r : regions_) {
      if (phys >= r.phys && len <= r.size && phys - r.phys <= r.size - len) return r.host + (phys - r.phys);
    }
    Fault("device access to unmapped memory 0x" + Hex(phys) + " (+" + std::to_string(len) + ")");
    return nullptr;
  }
  template <class V>
  bool Load(uint64_t phys, V* v) {
    uint8_t* p = Host(phys, sizeof(V));
    if (p == nullptr) return false;
    std::memcpy(v, p, sizeof(V));
    return true;
  }
  template <class V>
  void Store(uint64_t phys, V v) {
    if (uint8_t* p = Host(phys, sizeof(V))) std::memcpy(p, &v, sizeof(V));
  }

  bool QueueLive() const { return legacy() ? queue_pfn_ != 0 : queue_ready_ != 0; }

  void Notify(uint32_t queue) {
    ++notifies_;
    if (queue != 0) Fault("notify of queue " + std::to_string(queue) + ", which does not exist");
    if (!(status_ & 0x4)) Fault("QueueNotify before DRIVER_OK");
    if (!QueueLive()) {
      Fault("QueueNotify on a queue that is not live");
      return;
    }
    uint16_t avail_idx = 0;
    if (!Load(driver_addr_ + 2, &avail_idx)) return;
    if (static_cast<uint16_t>(avail_idx - last_avail_) > queue_num_) Fault("avail idx ran more than a queue ahead");
    while (last_avail_ != avail_idx) {
      uint16_t head = 0;
      if (!Load(driver_addr_ + 4 + 2 * (last_avail_ % queue_num_), &head)) return;
      ++last_avail_;
      Accept(head);
    }
    max_in_flight_ = std::max(max_in_flight_, pending_.size());
    if (options_.complete_after_polls == 0 && !options_.never_complete) CompleteDue(/*all=*/true);
  }

  /// Parses the chain at `head` as a virtio-blk request and queues it.
  void Accept(uint16_t head) {
    if (head >= queue_num_) {
      Fault("available ring names descriptor " + std::to_string(head) + " beyond the queue");
      return;
    }
    struct D {
      uint64_t addr;
      uint32_t len;
      uint16_t flags;
      uint16_t next;
    };
    std::vector<D> chain;
    uint16_t i = head;
    for (;;) {
      D d{};
      if (!Load(desc_addr_ + 16ull * i, &d)) return;
      if (d.flags & 0x4) Fault("VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC");
      chain.push_back(d);
      if (!(d.flags & 0x1)) break;
      if (d.next >= queue_num_ || chain.size() >= queue_num_) {
        Fault("descriptor chain loops or leaves the table");
        return;
      }
      i = d.next;
    }
    Pending p{};
    p.head = head;
    p.polls_left = options_.complete_after_polls;
    FakeVirtioRequest request;
    const D& first = chain.front();
    const D& last = chain.back();
    // Legacy devices without VIRTIO_F_ANY_LAYOUT rely on this framing (§5.2.6.3); we ask it of both.
    if (chain.size() < 2 || first.len != 16 || (first.flags & 0x2) || last.len != 1 || !(last.flags & 0x2)) {
      Fault("chain is not header(16, readable) ... status(1, writable)");
      return;
    }
    uint32_t header[4];
    uint8_t* h = Host(first.addr, 16);
    if (h == nullptr) return;
    std::memcpy(header, h, 16);
    request.type = header[0];
    if (header[1] != 0) Fault("virtio_blk_req.reserved is not 0");
    request.sector = uint64_t{header[2]} | uint64_t{header[3]} << 32;
    for (size_t k = 1; k + 1 < chain.size(); ++k) {
      const bool writable = chain[k].flags & 0x2;
      if (request.type == 0 && !writable) Fault("read request with a device-readable data buffer");
      if (request.type == 1 && writable) Fault("write request with a device-writable data buffer");
      if (Host(chain[k].addr, chain[k].len) == nullptr) return;
      p.data.emplace_back(chain[k].addr, chain[k].len);
      request.bytes += chain[k].len;
    }
    if (request.type == 4 && (request.bytes != 0 || request.sector != 0)) Fault("flush with data or a sector");
    p.status_addr = last.addr;
    if (Host(p.status_addr, 1) == nullptr) return;
    p.request = requests_.size();
    request.in_flight_before = pending_.size();
    requests_.push_back(request);
    pending_.push_back(std::move(p));
  }

  /// One poll: every pending request gets one step closer to completion.
  void Tick() {
    if (options_.complete_after_polls == 0 || options_.never_complete) return;
    for (Pending& p : pending_) {
      if (p.polls_left > 0) --p.polls_left;
    }
    CompleteDue(/*all=*/false);
  }

  void CompleteDue(bool all) {
    std::vector<Pending> due;
    std::vector<Pending> rest;
    for (Pending& p : pending_) (all || p.polls_left == 0 ? due : rest).push_back(std::move(p));
    pending_ = std::move(rest);
    if (options_.reverse_completion) std::reverse(due.begin(), due.end());
    for (Pending& p : due) Complete(p);
  }

  void Complete(const Pending& p) {
    FakeVirtioRequest& request = requests_[p.request];
    uint8_t status = 0;
    uint32_t written = 0;
    const uint64_t sectors = request.bytes / 512;
    const bool covers_fail = options_.fail_sector && *options_.fail_sector >= request.sector &&
                             *options_.fail_sector < request.sector + std::max<uint64_t>(sectors, 1);
    if (request.bytes % 512 != 0) {
      Fault("data length is not a whole number of sectors");
      status = 1;
    } else if (covers_fail && request.type != 4) {
      status = options_.fail_status;
    } else if (request.type == 0 || request.type == 1) {
      if (request.sector > options_.capacity_sectors || sectors > options_.capacity_sectors - request.sector) {
        Fault("request beyond the end of the disk");
        status = 1;
      } else if (request.type == 1 && options_.read_only) {
        status = 1;
      } else {
        uint64_t at = request.sector * 512;
        for (const auto& [addr, len] : p.data) {
          uint8_t* host = Host(addr, len);
          if (host == nullptr) break;
          if (request.type == 1) {
            std::memcpy(disk_.data() + at, host, len);
          } else {
            std::memcpy(host, disk_.data() + at, len);
            written += len;
          }
          at += len;
        }
      }
    } else if (request.type == 4) {
      status = options_.offer_flush ? 0 : 2;
    } else {
      status = 2;
    }
    request.status = status;
    if (!options_.skip_status_write) {
      Store<uint8_t>(p.status_addr, status);
      written += 1;
    }
    // Used ring (§2.7.8): flags, idx, ring[num] of {id, len}.
    Store<uint32_t>(device_addr_ + 4 + 8ull * (used_idx_ % queue_num_), p.head);
    Store<uint32_t>(device_addr_ + 8 + 8ull * (used_idx_ % queue_num_), written);
    ++used_idx_;
    Store<uint16_t>(device_addr_ + 2, used_idx_);
    completion_order_.push_back(p.request);
    uint16_t avail_flags = 0;
    if (Load(driver_addr_, &avail_flags) && !(avail_flags & 0x1)) interrupt_status_ |= 0x1;
  }

  FakeVirtioBlkOptions options_;
  std::vector<uint8_t> disk_;
  std::vector<Region> regions_;
  std::vector<uint8_t> stale_memory_;

  uint32_t status_ = 0;
  uint32_t busy_status_ = 0;
  uint32_t busy_reads_left_ = 0;
  uint32_t device_features_sel_ = 0;
  bool device_features_sel_written_ = false;
  uint32_t driver_features_sel_ = 0;
  bool driver_features_sel_written_ = false;
  uint64_t driver_features_ = 0;
  uint32_t guest_page_size_ = 0;
  uint32_t queue_sel_ = 0;
  uint32_t queue_num_ = 0;
  uint32_t queue_align_ = 0;
  uint32_t queue_pfn_ = 0;
  uint32_t queue_ready_ = 0;
  uint64_t desc_addr_ = 0;
  uint64_t driver_addr_ = 0;
  uint64_t device_addr_ = 0;
  uint32_t interrupt_status_ = 0;
  uint32_t generation_ = 0;

  uint16_t last_avail_ = 0;
  uint16_t used_idx_ = 0;
  std::vector<Pending> pending_;
  std::vector<FakeVirtioRequest> requests_;
  std::vector<size_t> completion_order_;
  size_t max_in_flight_ = 0;
  uint32_t resets_ = 0;
  uint32_t interrupt_status_reads_ = 0;
  uint32_t config_generation_reads_ = 0;
  uint32_t notifies_ = 0;
  uint32_t stale_ready_writes_ = 0;
};

/// The register window a driver holds: a pointer to the device the test owns.
class FakeVirtioIo {
 public:
  explicit FakeVirtioIo(FakeVirtioBlkDevice& device) : device_(&device) {}
  uint8_t Read8(uint32_t offset) { return device_->Read8(offset); }
  uint32_t Read32(uint32_t offset) { return device_->Read32(offset); }
  void Write8(uint32_t offset, uint8_t value) { device_->Write8(offset, value); }
  void Write32(uint32_t offset, uint32_t value) { device_->Write32(offset, value); }

 private:
  FakeVirtioBlkDevice* device_;
};
static_assert(drivers::Io<FakeVirtioIo>);

}  // namespace salvage::testing
