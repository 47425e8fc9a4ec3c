// Words and formats of the pages.
export const when = (ms) => (ms ? new Date(ms).toLocaleString() : "");

export function duration(ms) {
  // Whole minutes left, rounded down: "23 h 59 min" just after the customer wrote.
  const minutes = Math.max(1, Math.floor(ms / 60000));
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const rest = minutes % 60;
  if (days) return `${days} d ${hours} h`;
  return hours ? `${hours} h ${rest} min` : `${rest} min`;
}

// Who has the conversation, and its status: supervisors and admins assign anyone; an agent

export function size(bytes) {
  if (bytes == null) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1 << 20) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1 << 20)).toFixed(1)} MB`;
}
