#include "engine/frame.h"

#include <limits>

namespace tl {

double Frame::metric(const std::string& name, double fallback) const {
    for (const auto& [k, v] : metrics)
        if (k == name) return v;
    return fallback;
}

void Frame::setMetric(const std::string& name, double value) {
    for (auto& [k, v] : metrics)
        if (k == name) {
            v = value;
            return;
        }
    metrics.emplace_back(name, value);
}

void FrameHistory::append(FramePtr f) {
    std::lock_guard<std::mutex> lk(m_);
    frames_.push_back(std::move(f));
}

void FrameHistory::replace(std::size_t k, FramePtr f) {
    std::lock_guard<std::mutex> lk(m_);
    if (k < frames_.size()) frames_[k] = std::move(f);
}

void FrameHistory::clear() {
    std::lock_guard<std::mutex> lk(m_);
    frames_.clear();
}

std::vector<FramePtr> FrameHistory::snapshot() const {
    std::lock_guard<std::mutex> lk(m_);
    return frames_;
}

std::size_t FrameHistory::size() const {
    std::lock_guard<std::mutex> lk(m_);
    return frames_.size();
}

FramePtr FrameHistory::at(std::size_t k) const {
    std::lock_guard<std::mutex> lk(m_);
    return k < frames_.size() ? frames_[k] : nullptr;
}

FramePtr FrameHistory::atTime(double t) const {
    std::lock_guard<std::mutex> lk(m_);
    FramePtr best = frames_.empty() ? nullptr : frames_.front();
    for (const auto& f : frames_)
        if (f->t <= t + 1e-12) best = f;
    return best;
}

}  // namespace tl
