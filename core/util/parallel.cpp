#include "util/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace tl {

int resolveThreads(int requested) {
    const int hw = std::max(1u, std::thread::hardware_concurrency());
    if (requested <= 0) return hw;
    return std::min(requested, 256);
}

namespace {
thread_local const std::stop_token* tlCancel = nullptr;
}  // namespace

CancelScope::CancelScope(std::stop_token stop) : stop_(std::move(stop)), outer_(tlCancel) { tlCancel = &stop_; }
CancelScope::~CancelScope() { tlCancel = outer_; }
std::stop_token currentCancelToken() { return tlCancel ? *tlCancel : std::stop_token(); }

namespace {

// Workers wait for a job; a job is a shared chunk counter plus a body.
class Pool {
public:
    static Pool& instance() {
        static Pool pool;
        return pool;
    }

    void run(std::size_t n, std::size_t chunk, int threads,
             const std::function<void(std::size_t, std::size_t)>& body) {
        // One job at a time, served in arrival order: panels that compute concurrently take turns
        // with the whole pool (a plain mutex let one caller re-take it again and again).
        Turn turn(*this);
        ensureWorkers(threads - 1);
        Job job;
        job.n = n;
        job.chunk = chunk;
        job.body = &body;
        job.stop = currentCancelToken();
        {
            std::lock_guard<std::mutex> lk(m_);
            job_ = &job;
            helpersWanted_ = threads - 1;
            ++generation_;
        }
        cv_.notify_all();
        work(job);
        std::unique_lock<std::mutex> lk(m_);
        doneCv_.wait(lk, [&] { return job.activeHelpers == 0 && helpersWanted_ == 0; });
        job_ = nullptr;
        lk.unlock();
        if (job.error) std::rethrow_exception(job.error);
        if (job.cancelled.load()) throw Cancelled();
    }

    ~Pool() {
        {
            std::lock_guard<std::mutex> lk(m_);
            quit_ = true;
        }
        cv_.notify_all();
        for (auto& t : workers_) t.join();
    }

private:
    struct Job {
        std::size_t n = 0, chunk = 1;
        const std::function<void(std::size_t, std::size_t)>* body = nullptr;
        std::atomic<std::size_t> next{0};
        std::stop_token stop;  // the caller's CancelScope: checked before every chunk
        std::atomic<bool> cancelled{false};
        int activeHelpers = 0;  // guarded by m_
        std::exception_ptr error;
        std::mutex errorMutex;
    };

    // A FIFO (ticket) lock around run(): the caller waits until every earlier caller has finished.
    struct Turn {
        Pool& pool;
        explicit Turn(Pool& p) : pool(p) {
            std::unique_lock<std::mutex> lk(pool.turnMutex_);
            const std::uint64_t ticket = pool.nextTicket_++;
            pool.turnCv_.wait(lk, [&] { return pool.serving_ == ticket; });
        }
        ~Turn() {
            {
                std::lock_guard<std::mutex> lk(pool.turnMutex_);
                ++pool.serving_;
            }
            pool.turnCv_.notify_all();
        }
        Turn(const Turn&) = delete;
        Turn& operator=(const Turn&) = delete;
    };

    void ensureWorkers(int count) {
        while (static_cast<int>(workers_.size()) < count) workers_.emplace_back([this] { loop(); });
    }

    static void work(Job& job) {
        for (;;) {
            if (job.stop.stop_requested()) {
                job.cancelled.store(true);
                job.next.store(job.n);
                return;
            }
            const std::size_t b = job.next.fetch_add(job.chunk);
            if (b >= job.n) return;
            const std::size_t e = std::min(job.n, b + job.chunk);
            try {
                (*job.body)(b, e);
            } catch (...) {
                std::lock_guard<std::mutex> lk(job.errorMutex);
                if (!job.error) job.error = std::current_exception();
                job.next.store(job.n);
            }
        }
    }

    void loop() {
        std::uint64_t seen = 0;
        for (;;) {
            Job* job = nullptr;
            {
                std::unique_lock<std::mutex> lk(m_);
                cv_.wait(lk, [&] { return quit_ || (generation_ != seen && helpersWanted_ > 0); });
                if (quit_) return;
                seen = generation_;
                --helpersWanted_;
                job = job_;
                ++job->activeHelpers;
            }
            work(*job);
            {
                std::lock_guard<std::mutex> lk(m_);
                --job->activeHelpers;
            }
            doneCv_.notify_all();
        }
    }

    std::mutex turnMutex_;
    std::condition_variable turnCv_;
    std::uint64_t nextTicket_ = 0, serving_ = 0;  // guarded by turnMutex_
    std::mutex m_;
    std::condition_variable cv_, doneCv_;
    std::vector<std::thread> workers_;
    Job* job_ = nullptr;
    int helpersWanted_ = 0;
    std::uint64_t generation_ = 0;
    bool quit_ = false;
};

}  // namespace

void parallelFor(std::size_t n, std::size_t chunk, int threads,
                 const std::function<void(std::size_t, std::size_t)>& body) {
    if (n == 0) return;
    chunk = std::max<std::size_t>(1, chunk);
    threads = resolveThreads(threads);
    const std::size_t chunks = (n + chunk - 1) / chunk;
    threads = static_cast<int>(std::min<std::size_t>(threads, chunks));
    if (threads <= 1) {
        const std::stop_token stop = currentCancelToken();
        if (!stop.stop_possible()) return body(0, n);
        for (std::size_t b = 0; b < n; b += chunk) {  // chunk by chunk, to stop between them
            if (stop.stop_requested()) throw Cancelled();
            body(b, std::min(n, b + chunk));
        }
        return;
    }
    Pool::instance().run(n, chunk, threads, body);
}

}  // namespace tl
