#include "aggregator.h"

namespace memray::payload {

size_t Aggregator::KeyHash::operator()(const LocationKey& key) const
{
    uint64_t h = key.tid * 0x9e3779b97f4a7c15u;
    h ^= key.stack_id + 0x632be59bd9b4e019u + (h << 6) + (h >> 2);
    h ^= key.native_stack_id + 0x85ebca77c2b2ae63u + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(key.allocator) + (h << 6) + (h >> 2);
    return static_cast<size_t>(h ^ (h >> 29));
}

void Aggregator::reset()
{
    heap_ = format::HeapTracker<uint32_t, Observer>(Observer{this});
    locations_.clear();
    index_.clear();
    changed_.clear();
    allocations_ = 0;
    allocated_bytes_ = 0;
    sample_high_water_ = 0;
}

void Aggregator::allocate(const LocationKey& key, uint64_t address, uint64_t size)
{
    auto [it, inserted] = index_.try_emplace(key, static_cast<uint32_t>(locations_.size()));
    if (inserted) {
        Location& location = locations_.emplace_back();
        location.tid = key.tid;
        location.stack_id = key.stack_id;
        location.native_stack_id = key.native_stack_id;
        location.allocator = key.allocator;
    }
    ++allocations_;
    allocated_bytes_ += size;
    heap_.allocate(key.allocator, address, size, it->second);
    sample_high_water_ = std::max(sample_high_water_, heap_.currentBytes());
}

void Aggregator::deallocate(format::Deallocator deallocator, uint64_t address, uint64_t size)
{
    heap_.deallocate(deallocator, address, size);
}

void Aggregator::change(uint32_t index, uint64_t bytes, uint64_t count)
{
    Location& location = locations_[index];
    if (location.last_change_event <= heap_.peakEvents()) {
        // Its first change since the peak: what it holds now is what it held at the peak.
        location.peak_bytes = location.live_bytes;
        location.peak_count = location.live_count;
    }
    location.last_change_event = heap_.events() + 1;  // the event under way
    location.live_bytes += bytes;
    location.live_count += count;
    if (!location.changed) {
        location.changed = true;
        changed_.push_back(index);
    }
}

format::AggregateTotals Aggregator::totals() const
{
    format::AggregateTotals totals;
    totals.events = heap_.events();
    totals.peak_events = heap_.peakEvents();
    totals.peak_bytes = heap_.peakBytes();
    totals.current_bytes = heap_.currentBytes();
    totals.allocations = allocations_;
    totals.allocated_bytes = allocated_bytes_;
    return totals;
}

}  // namespace memray::payload
