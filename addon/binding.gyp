{
  "targets": [{
    "target_name": "alexnet_native",
    "sources": [
      "src/binding.cc", "src/engine.cc", "src/conv.cc", "src/pool.cc", "src/lrn.cc",
      "src/eltwise.cc", "src/linear.cc", "src/softmax.cc", "src/winograd.cc", "src/winograd_dw.cc", "src/conv_gemm.cc", "src/maxpool_blk.cc"
    ],
    "include_dirs": [
      "<!(node -p \"require('node-addon-api').include_dir\")",
      "/usr/include/x86_64-linux-gnu"
    ],
    "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
    "cflags!": ["-fno-exceptions", "-O2"],
    "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17", "-O2"],
    "cflags": ["-O3", "-march=x86-64-v2", "-mtune=generic", "-fopenmp"],
    "cflags_cc": ["-std=c++17", "-O3", "-march=x86-64-v2", "-fopenmp", "-fexceptions", "-frtti"],
    "libraries": ["-ldnnl", "-lopenblas", "-fopenmp"]
  }]
}
