// The worker thread and its FIFO (queue.h).
#include "queue.h"

#include <exception>
#include <stdexcept>
#include <utility>

namespace an::rt {

void Queue::start(Hooks hooks) {
  hooks_ = std::move(hooks);
  worker_ = std::thread([this] { loop(); });
}

void Queue::push(Job job) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) throw std::runtime_error("native backend was disposed");
    q_.push_back(std::move(job));
  }
  cv_.notify_one();
}

void Queue::pushAll(std::vector<Job> jobs) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (stopping_) throw std::runtime_error("native backend was disposed");
    for (Job &j : jobs) q_.push_back(std::move(j));
  }
  cv_.notify_one();
}

void Queue::stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (worker_.joinable()) worker_.join();
}

bool Queue::stopping() {
  std::lock_guard<std::mutex> l(mu_);
  return stopping_;
}

void Queue::loop() {
  if (hooks_.begin) hooks_.begin();
  for (;;) {
    Job job;
    {
      std::unique_lock<std::mutex> l(mu_);
      cv_.wait(l, [this] { return stopping_ || !q_.empty(); });
      if (q_.empty()) break;  // stopping and drained
      job = std::move(q_.front());
      q_.pop_front();
    }
    try {
      job.fn();
    } catch (const std::exception &e) {
      if (err_.empty()) err_ = job.what + ": " + e.what();
    }
    if (hooks_.afterJob) hooks_.afterJob();
  }
  if (hooks_.end) hooks_.end();
}

bool Queue::nextFrees(int64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  return !q_.empty() && q_.front().freesId == id;
}

bool Queue::nextIsReluThenFree(int64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  size_t i = 0;
  while (i < q_.size() && q_[i].freesId >= 0 && q_[i].freesId != id) ++i;  // frees of other tensors may come first
  return i + 1 < q_.size() && q_[i].reluIn == id && q_[i + 1].freesId == id;
}

bool Queue::freedUnread(int64_t id) {
  std::lock_guard<std::mutex> l(mu_);
  for (const Job &j : q_) {
    if (j.freesId < 0) return false;
    if (j.freesId == id) return true;
  }
  return false;
}

std::string Queue::takeError() {
  std::string e;
  e.swap(err_);
  return e;
}

}  // namespace an::rt
