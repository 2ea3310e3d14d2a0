// The password rule, in one place: the server checks it and the web UI states it (issue 11: the screen
// said 12 characters while the server refused under 10).
export const MIN_PASSWORD = 10;
