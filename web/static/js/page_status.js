// The status lines of an admin page: one for what was done, one for what failed, and
// running a change that reloads the page's lists afterwards.

export function pageStatus(doneLine, errorLine, reload) {
  const say = (text) => {
    errorLine.textContent = "";
    doneLine.textContent = text;
  };
  const fail = (error) => {
    doneLine.textContent = "";
    errorLine.textContent = error.message || String(error);
  };
  const run = async (task, done) => {
    try {
      await task();
      if (done) say(done);
      await reload();
    } catch (error) {
      fail(error);
    }
  };
  return { say, fail, run };
}
