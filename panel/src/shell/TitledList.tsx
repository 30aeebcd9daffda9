/** A bold title over a bulleted list: the key points, agreements and next steps of a call summary or a chat analysis. */
export function TitledList({ title, items }: { title: string; items: string[] }) {
  return (
    <div style={{ marginBottom: 8 }}>
      <b>{title}</b>
      <ul style={{ margin: '4px 0', paddingLeft: 20 }}>
        {items.map((x, i) => (
          <li key={i}>{x}</li>
        ))}
      </ul>
    </div>
  );
}
