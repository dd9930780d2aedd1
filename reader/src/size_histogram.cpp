#include "memray/reader/size_histogram.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace memray::reader {

size_t SizeHistogram::bucketOf(uint64_t size)
{
    constexpr uint64_t kLinear = uint64_t{1} << kSubBucketBits;
    if (size < kLinear) {
        return static_cast<size_t>(size);
    }
    const unsigned exponent = static_cast<unsigned>(std::bit_width(size)) - 1;  // >= kSubBucketBits
    const unsigned shift = exponent - kSubBucketBits;
    const uint64_t mantissa = (size >> shift) & (kLinear - 1);
    return static_cast<size_t>(kLinear + shift * kLinear + mantissa);
}

uint64_t SizeHistogram::bucketLowerBound(size_t bucket)
{
    constexpr uint64_t kLinear = uint64_t{1} << kSubBucketBits;
    if (bucket < kLinear) {
        return bucket;
    }
    const uint64_t shift = (bucket - kLinear) / kLinear;
    const uint64_t mantissa = (bucket - kLinear) % kLinear;
    return (kLinear | mantissa) << shift;
}

void SizeHistogram::foldIntoBuckets()
{
    buckets_.assign(bucketOf(UINT64_MAX) + 1, 0);
    exact_.forEach([&](uint64_t size, uint64_t count) { buckets_[bucketOf(size)] += count; });
    exact_.clear();
    approximate_ = true;
}

std::vector<SizeBin> SizeHistogram::bins(size_t bins) const
{
    if (total_ == 0) {
        return {};
    }
    // Bin k holds the sizes in [edges[k], edges[k+1]); the last bin ends at max_ inclusive.
    std::vector<uint64_t> edges{min_};
    if (max_ > min_ && bins > 1) {
        const double base = static_cast<double>(std::max<uint64_t>(min_, 1));
        const double step = std::pow(static_cast<double>(max_) / base, 1.0 / static_cast<double>(bins));
        for (size_t i = 1; i < bins; ++i) {
            const double edge = std::ceil(base * std::pow(step, static_cast<double>(i)));
            // (Compared as doubles first: converting a double of 2^64 or more is undefined.)
            if (!(edge < 0x1p64) || static_cast<uint64_t>(edge) > max_) {
                break;
            }
            const uint64_t whole = static_cast<uint64_t>(edge);
            if (whole > edges.back()) {
                edges.push_back(whole);
            }
        }
    }
    std::vector<SizeBin> result(edges.size());
    for (size_t k = 0; k < edges.size(); ++k) {
        result[k].min_bytes = edges[k];
        result[k].max_bytes = k + 1 < edges.size() ? edges[k + 1] - 1 : max_;
    }
    auto place = [&](uint64_t size, uint64_t count) {
        // upper_bound: the first edge above `size`; the bin before it holds `size`. Folded
        // bucket bounds can fall below min_, hence the clamp to the first bin.
        const size_t after = static_cast<size_t>(std::upper_bound(edges.begin(), edges.end(), size) - edges.begin());
        result[after == 0 ? 0 : after - 1].count += count;
    };
    for (size_t size = 0; size < direct_.size(); ++size) {
        if (direct_[size]) {
            place(size, direct_[size]);
        }
    }
    carries_.forEach(place);
    if (approximate_) {
        for (size_t bucket = 0; bucket < buckets_.size(); ++bucket) {
            if (buckets_[bucket]) {
                place(bucketLowerBound(bucket), buckets_[bucket]);
            }
        }
    } else {
        exact_.forEach(place);
    }
    return result;
}

}  // namespace memray::reader
