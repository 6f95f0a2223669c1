// The FIFO every op, upload, read and free goes through: the JS thread pushes jobs (closures that name tensors by
// the handles JS chose, so a call returns before its work runs), ONE worker thread runs them in order. Because only
// the worker touches tensors, the tensor table, pool and caches need no lock. A job that throws records the first
// error ("what: message"), which the next read or sync reports; later jobs still run.
#pragma once
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace an::rt {

class Queue {
 public:
  struct Job {
    std::string what;
    std::function<void()> fn;
    int64_t freesId = -1;  // the tensor a `free` job releases
    int64_t reluIn = -1;   // the input of a `relu` job (the conv+ReLU fusion looks for it)
  };
  // Run on the worker thread: begin before the first job, afterJob after each, end once drained and stopping.
  struct Hooks {
    std::function<void()> begin, afterJob, end;
  };

  Queue() = default;
  Queue(const Queue &) = delete;
  Queue &operator=(const Queue &) = delete;
  ~Queue() { stop(); }

  void start(Hooks hooks);
  void push(Job job);  // JS thread; throws once stopping
  void pushAll(std::vector<Job> jobs);  // the same for many, under one lock and one wake-up
  void stop();         // runs what is queued, then joins the worker; idempotent
  bool stopping();

  // ---- worker thread ----
  // True when the next queued job frees tensor `id` (nothing can read it in between): an op may then write its
  // output over it in place, saving a buffer and its page faults.
  bool nextFrees(int64_t id);
  // True when the next jobs are relu(id) and free(id), frees of other tensors aside: the op producing `id` may
  // apply the ReLU itself.
  bool nextIsReluThenFree(int64_t id);
  // True when the jobs queued next are frees and one of them frees tensor `id`: it dies unread (an eval
  // forward's max-pool argmax), so the op producing it may leave it empty.
  bool freedUnread(int64_t id);
  std::string takeError();  // the first error since the last take ("" when none)

 private:
  void loop();
  Hooks hooks_;
  std::thread worker_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> q_;
  bool stopping_ = false;
  std::string err_;
};

}  // namespace an::rt
