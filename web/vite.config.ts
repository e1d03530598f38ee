import { defineConfig } from "vite";

// The page is built into the Python package; relative asset URLs let the
// server mount it under any --path_prefix.
export default defineConfig({
  base: "./",
  build: {
    outDir: "../src/stepscope/web/dist",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 600,
  },
});
