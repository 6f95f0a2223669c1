{
  "targets": [{
    "target_name": "alexnet_native",
    "sources": [
      "src/binding.cc", "src/engine.cc", "src/conv.cc", "src/pool.cc", "src/lrn.cc",
      "src/eltwise.cc", "src/linear.cc", "src/softmax.cc", "src/winograd.cc", "src/winograd_dw.cc", "src/conv_gemm.cc",
      "src/conv_gemm_dw.cc", "src/maxpool_blk.cc", "src/fast_stubs.cc", "src/cpu.cc", "src/kernel_choice.cc", "src/conv1_avx512.cc", "src/conv_direct.cc", "src/maxpool_avx512.cc", "src/maxpool_eval.cc", "src/jobs.cc", "src/program.cc",
      "src/runtime/queue.cc", "src/runtime/runtime.cc", "src/runtime/storage.cc",
      "src/gemv.cc", "src/fc_gemm.cc", "src/precision.cc", "src/bf16_conv.cc", "src/bf16_linear.cc",
      "src/quant.cc",
      "src/quant_binding.cc"
    ],
    "include_dirs": [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      "<!@(node flags.mjs include)"
    ],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
    "libraries": ["<!@(node flags.mjs libs)"],
    "conditions": [
      # No -march: the AVX2 kernels carry their own target attributes and are chosen at run time (cpuid), so one
      # binary runs on any x86-64 and the same sources build on arm64.
      ["OS=='linux' or OS=='freebsd'", {
        "cflags!": ["-fno-exceptions", "-O2"],
        "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-O2"],
        "cflags": ["-O3", "-fopenmp"],
        "cflags_cc": ["-std=c++17", "-O3", "-fopenmp", "-fexceptions", "-frtti", "<!@(node flags.mjs cflags)"],
        "ldflags": ["-fopenmp"]
      }],
      # Apple clang: OpenMP from Homebrew's libomp (brew install libomp onednn openblas)
      ["OS=='mac'", {
        "xcode_settings": {
          "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
          "GCC_ENABLE_CPP_RTTI": "YES",
          "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
          "MACOSX_DEPLOYMENT_TARGET": "11.0",
          "OTHER_CPLUSPLUSFLAGS": ["-O3", "-Xpreprocessor", "-fopenmp", "<!@(node flags.mjs cflags)"],
          "OTHER_LDFLAGS": ["-lomp"]
        }
      }]
    ]
  }]
}
