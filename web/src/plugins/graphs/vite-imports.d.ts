// Vite's import suffixes the graphs view uses: a module built as a Web Worker,
// and a file's same-origin URL (the page's CSP allows workers from 'self' only).

declare module "*?worker" {
  const WorkerFactory: new () => Worker;
  export default WorkerFactory;
}

declare module "*?url" {
  const url: string;
  export default url;
}
