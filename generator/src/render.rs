//! Blueprint → the files of a React + Vite + Express app.
