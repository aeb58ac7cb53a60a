/* Loading without a server: pages opened from file:// may not fetch() files, and a plain <video src> from
   another file may not be uploaded to WebGL. So vendored CommonJS libraries register themselves through
   PanoworldVendor.define(name, factory), and every asset is a script calling PanoworldView.register(name, data);
   videos arrive as base64 and are played from same-origin blob: URLs. */
"use strict";

window.PanoworldVendor = (() => {
  const modules = {};
  return {
    define(name, factory) {
      const module = { exports: {} };
      factory(module, module.exports, (dep) => {
        if (!(dep in modules)) throw new Error(`vendored module ${dep} must be loaded before ${name}`);
        return modules[dep];
      });
      modules[name] = module.exports;
    },
    get: (name) => modules[name],
  };
})();

window.PanoworldView = (() => {
  const loaded = {};
  const waiting = {};
  const blobUrls = {};

  function register(name, data) {
    loaded[name] = data;
    (waiting[name] || []).forEach(({ resolve }) => resolve(data));
    delete waiting[name];
  }

  /** The data registered by the script asset `name` (a path relative to the page). */
  function load(name) {
    if (name in loaded) return Promise.resolve(loaded[name]);
    return new Promise((resolve, reject) => {
      const first = !(name in waiting);
      (waiting[name] = waiting[name] || []).push({ resolve, reject });
      if (!first) return;
      const script = document.createElement("script");
      script.src = name;
      script.onerror = () => {
        (waiting[name] || []).forEach((w) => w.reject(new Error(`cannot load ${name}`)));
        delete waiting[name];
      };
      document.head.appendChild(script);
    });
  }

  /** A promise of the blob: URL of the base64 video asset `name` (decoded once). */
  function videoUrl(name) {
    if (!(name in blobUrls)) {
      blobUrls[name] = load(name).then((base64) => {
        const text = atob(base64);
        const bytes = new Uint8Array(text.length);
        for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
        return URL.createObjectURL(new Blob([bytes], { type: "video/mp4" }));
      });
    }
    return blobUrls[name];
  }

  return { register, load, videoUrl };
})();
