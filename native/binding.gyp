{
  "targets": [
    {
      "target_name": "lifeboat_fs",
      "sources": ["lifeboat_fs.c"],
      "cflags": ["-Wall", "-Wextra", "-O2"]
    }
  ]
}
