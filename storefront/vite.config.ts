import preact from "@preact/preset-vite";
import { defineConfig } from "vitest/config";

// The gateway serves dist/ (services/gateway/storefront.py): index.html at every page's
// path, and assets/ under content-hashed names, cached for a year.
// `npm run dev` proxies the API and the WebSocket to a running `make run` shop instead.
const shop = process.env.SHOP_URL ?? "http://127.0.0.1:8100";

export default defineConfig({
  plugins: [preact()],
  build: { target: "es2022", sourcemap: false, reportCompressedSize: true },
  server: {
    proxy: {
      "/api": shop,
      "/ws": { target: shop.replace(/^http/, "ws"), ws: true },
    },
  },
  test: { environment: "node", include: ["src/**/*.test.ts"] },
});
