// N-API binding to MPI for data-parallel training: init, allreduce (float32 sum, in place), broadcast,
// barrier, finalize, abort. Every MPI call (MPI_Init_thread included, so the "main" thread of MPI's rules
// is ours) runs on ONE dedicated communication thread that takes jobs from a FIFO: collectives leave in
// the order JS issued them, which is what makes every rank issue them in the same order. Not libuv's pool:
// a 244 MB allreduce holds its thread for 100+ ms, and four such threads are all the pool has for file I/O.
// Blocking collectives on our own thread also sidestep Open MPI's progress rule (a non-blocking collective
// advances only inside MPI_Test/MPI_Wait). Results come back to JS as promises through one thread-safe
// function, which holds the event loop open only while a job is pending.
#include <napi.h>
#include <mpi.h>
#include <dlfcn.h>

#include <chrono>
#include <climits>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace {

enum class Op { Init, Allreduce, Broadcast, Barrier, Finalize };

struct Job {
  Op op;
  float *data = nullptr;
  size_t n = 0;
  int root = 0;
  /** Multiplies this rank's contribution before the sum (1 = plain sum). */
  float scale = 1.0f;
  Napi::Promise::Deferred deferred;
  Napi::Reference<Napi::Value> keep;  // the typed array stays alive while the comm thread uses its memory
  std::string error;
  double seconds = 0;                 // wall time of the MPI call itself
  explicit Job(Napi::Env env, Op o) : op(o), deferred(Napi::Promise::Deferred::New(env)) {}
};

struct State {
  std::thread thread;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Job *> queue;
  napi_threadsafe_function tsfn = nullptr;
  int pending = 0;  // JS thread only
  bool started = false, finalizing = false;
  int rank = -1, size = 0, provided = -1;
  std::string library;
};
State &S = *new State;  // never destroyed: a process may exit with the thread waiting (glibc cond destroy would block)

std::string mpiError(int code, const char *what) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  if (MPI_Error_string(code, buf, &len) != MPI_SUCCESS) len = 0;
  return std::string(what) + ": " + (len ? std::string(buf, len) : "MPI error " + std::to_string(code));
}

// Counts above INT_MAX go in INT_MAX-sized pieces (MPI counts are int).
template <typename F>
int chunked(float *p, size_t n, F f) {
  for (size_t i = 0; i < n; i += INT_MAX) {
    const int rc = f(p + i, int(std::min<size_t>(INT_MAX, n - i)));
    if (rc != MPI_SUCCESS) return rc;
  }
  return MPI_SUCCESS;
}

void execute(Job *j) {
  const auto t0 = std::chrono::steady_clock::now();
  int rc = MPI_SUCCESS;
  switch (j->op) {
    case Op::Init: {
#ifdef __linux__
      // Open MPI loads its transport plugins with dlopen; they expect libmpi's symbols to be global, which a
      // Node addon (loaded RTLD_LOCAL) does not give them. Promote the already-loaded library.
      Dl_info info;
      if (dladdr(reinterpret_cast<void *>(&MPI_Init_thread), &info) && info.dli_fname) {
        S.library = info.dli_fname;
        dlopen(info.dli_fname, RTLD_NOW | RTLD_GLOBAL | RTLD_NOLOAD);
      }
#endif
      int initialised = 0;
      MPI_Initialized(&initialised);
      if (initialised) { j->error = "MPI is already initialised in this process"; break; }
      rc = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &S.provided);
      if (rc != MPI_SUCCESS) { j->error = "MPI_Init_thread failed (is this process started by mpirun/srun?)"; break; }
      MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
      MPI_Comm_rank(MPI_COMM_WORLD, &S.rank);
      MPI_Comm_size(MPI_COMM_WORLD, &S.size);
      break;
    }
    case Op::Allreduce:
      if (j->scale != 1.0f) for (size_t i = 0; i < j->n; i++) j->data[i] *= j->scale;
      rc = chunked(j->data, j->n, [](float *p, int c) { return MPI_Allreduce(MPI_IN_PLACE, p, c, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD); });
      if (rc != MPI_SUCCESS) j->error = mpiError(rc, "MPI_Allreduce");
      break;
    case Op::Broadcast: {
      const int root = j->root;
      rc = chunked(j->data, j->n, [root](float *p, int c) { return MPI_Bcast(p, c, MPI_FLOAT, root, MPI_COMM_WORLD); });
      if (rc != MPI_SUCCESS) j->error = mpiError(rc, "MPI_Bcast");
      break;
    }
    case Op::Barrier:
      rc = MPI_Barrier(MPI_COMM_WORLD);
      if (rc != MPI_SUCCESS) j->error = mpiError(rc, "MPI_Barrier");
      break;
    case Op::Finalize:
      rc = MPI_Finalize();
      if (rc != MPI_SUCCESS) j->error = mpiError(rc, "MPI_Finalize");
      break;
  }
  j->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void commThread() {
  for (;;) {
    Job *j;
    {
      std::unique_lock<std::mutex> lk(S.mu);
      S.cv.wait(lk, [] { return !S.queue.empty(); });
      j = S.queue.front();
      S.queue.pop_front();
    }
    const bool last = j->op == Op::Finalize || (j->op == Op::Init && !j->error.empty());
    execute(j);
    napi_call_threadsafe_function(S.tsfn, j, napi_tsfn_blocking);
    if (last) return;
  }
}

// On the JS thread: settle the job's promise.
void settle(napi_env env, napi_value, void *, void *data) {
  Job *j = static_cast<Job *>(data);
  if (env != nullptr) {
    Napi::Env e(env);
    Napi::HandleScope scope(e);
    if (!j->error.empty()) {
      j->deferred.Reject(Napi::Error::New(e, j->error).Value());
    } else if (j->op == Op::Init) {
      Napi::Object o = Napi::Object::New(e);
      o.Set("rank", S.rank);
      o.Set("size", S.size);
      o.Set("threadLevel", S.provided == MPI_THREAD_MULTIPLE ? "multiple" : S.provided == MPI_THREAD_SERIALIZED ? "serialized"
                               : S.provided == MPI_THREAD_FUNNELED ? "funneled" : "single");
      char ver[MPI_MAX_LIBRARY_VERSION_STRING];
      int len = 0;
      MPI_Get_library_version(ver, &len);  // allowed from any thread, and before/after init
      std::string v(ver, len);
      o.Set("library", v.substr(0, v.find_first_of(",\n")));
      j->deferred.Resolve(o);
    } else {
      j->deferred.Resolve(Napi::Number::New(e, j->seconds));
    }
    const bool ended = j->op == Op::Finalize || (j->op == Op::Init && !j->error.empty());
    if (--S.pending == 0 && S.tsfn) napi_unref_threadsafe_function(env, S.tsfn);
    if (ended) {
      if (S.thread.joinable()) S.thread.join();
      napi_release_threadsafe_function(S.tsfn, napi_tsfn_release);
      S.tsfn = nullptr;
    }
  }
  delete j;
}

Napi::Promise submit(Napi::Env env, Job *j) {
  Napi::Promise p = j->deferred.Promise();
  if (S.pending++ == 0) napi_ref_threadsafe_function(env, S.tsfn);
  {
    std::lock_guard<std::mutex> lk(S.mu);
    S.queue.push_back(j);
  }
  S.cv.notify_one();
  return p;
}

void requireOpen(Napi::Env env, const char *what) {
  if (!S.started) throw Napi::Error::New(env, std::string(what) + ": MPI is not initialised (call init() first)");
  if (S.finalizing) throw Napi::Error::New(env, std::string(what) + ": MPI was finalised");
}

Job *bufferJob(const Napi::CallbackInfo &info, Op op, const char *what) {
  requireOpen(info.Env(), what);
  if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array) {
    throw Napi::TypeError::New(info.Env(), std::string(what) + ": want a Float32Array");
  }
  Napi::Float32Array a = info[0].As<Napi::Float32Array>();
  Job *j = new Job(info.Env(), op);
  j->data = a.Data();
  j->n = a.ElementLength();
  j->keep = Napi::Persistent(info[0]);
  return j;
}

/** init(): Promise<{rank, size, threadLevel, library}>; starts the communication thread. */
Napi::Value Init(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (S.started) throw Napi::Error::New(env, "init: already initialised");
  napi_value name;
  napi_create_string_utf8(env, "alexnet-mpi", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, nullptr, nullptr, name, 0, 1, nullptr, nullptr, nullptr, settle, &S.tsfn) != napi_ok) {
    throw Napi::Error::New(env, "init: cannot create the completion channel");
  }
  napi_unref_threadsafe_function(env, S.tsfn);
  S.started = true;
  S.thread = std::thread(commThread);
  return submit(env, new Job(env, Op::Init));
}

/** allreduce(f32, scale = 1): in place, every rank ends with sum over ranks of scale_r * x_r. Promise<seconds>. */
Napi::Value Allreduce(const Napi::CallbackInfo &info) {
  Job *j = bufferJob(info, Op::Allreduce, "allreduce");
  if (info.Length() > 1 && info[1].IsNumber()) j->scale = info[1].As<Napi::Number>().FloatValue();
  return submit(info.Env(), j);
}

/** broadcast(f32, root): in place. Promise<seconds>. */
Napi::Value Broadcast(const Napi::CallbackInfo &info) {
  Job *j = bufferJob(info, Op::Broadcast, "broadcast");
  j->root = info.Length() > 1 && info[1].IsNumber() ? info[1].As<Napi::Number>().Int32Value() : 0;
  if (j->root < 0 || j->root >= S.size) {
    const int r = j->root;
    delete j;
    throw Napi::RangeError::New(info.Env(), "broadcast: root " + std::to_string(r) + " outside a world of " + std::to_string(S.size) + " ranks");
  }
  return submit(info.Env(), j);
}

Napi::Value Barrier(const Napi::CallbackInfo &info) {
  requireOpen(info.Env(), "barrier");
  return submit(info.Env(), new Job(info.Env(), Op::Barrier));
}

/** finalize(): after every queued collective; the communication thread then ends. */
Napi::Value Finalize(const Napi::CallbackInfo &info) {
  requireOpen(info.Env(), "finalize");
  S.finalizing = true;
  return submit(info.Env(), new Job(info.Env(), Op::Finalize));
}

/** abort(code): ends every rank of the job now (a failure on one rank must not leave the others waiting). */
Napi::Value Abort(const Napi::CallbackInfo &info) {
  const int code = info.Length() > 0 && info[0].IsNumber() ? info[0].As<Napi::Number>().Int32Value() : 1;
  if (S.started && S.provided == MPI_THREAD_MULTIPLE) MPI_Abort(MPI_COMM_WORLD, code);
  return info.Env().Undefined();
}

Napi::Object Module(Napi::Env env, Napi::Object exports) {
  exports.Set("init", Napi::Function::New(env, Init));
  exports.Set("allreduce", Napi::Function::New(env, Allreduce));
  exports.Set("broadcast", Napi::Function::New(env, Broadcast));
  exports.Set("barrier", Napi::Function::New(env, Barrier));
  exports.Set("finalize", Napi::Function::New(env, Finalize));
  exports.Set("abort", Napi::Function::New(env, Abort));
  return exports;
}

}  // namespace

NODE_API_MODULE(alexnet_mpi, Module)
