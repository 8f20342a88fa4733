# The enclavekit native addon (native/): /dev/nsm ioctl and AF_VSOCK stream sockets, N-API only.
# `npm ci` runs `node-gyp rebuild` for it (npm's default install script when binding.gyp exists).
# Output: build/Release/enclavekit.node, loaded by shared/native/addon.ts.
{
  "targets": [
    {
      "target_name": "enclavekit",
      "sources": [
        "native/module.c",
        "native/common.c",
        "native/nsm_ioctl.c",
        "native/sockets.c",
        "native/stream.c"
      ],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "xcode_settings": {
        "OTHER_CFLAGS": ["-std=gnu11", "-Wall", "-Wextra", "-Wno-unused-parameter"]
      }
    }
  ]
}
