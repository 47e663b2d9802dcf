/** Record sets of the lab's zones, shared by the Route53 emulator (writes) and the DNS server (reads). */
export interface RecordSet {
  name: string; // lowercase, no trailing dot
  type: 'A' | 'AAAA' | 'CNAME' | 'TXT' | 'NS' | 'SOA';
  ttl: number;
  values: string[]; // TXT values unquoted
}

export interface Zone {
  id: string;
  name: string;
  sets: Map<string, RecordSet>; // key: `${name}|${type}`
}

export const normalise = (name: string) => name.toLowerCase().replace(/\.$/, '');
const key = (name: string, type: string) => `${normalise(name)}|${type}`;

export class ZoneStore {
  readonly zones = new Map<string, Zone>();
  /** Names the DNS server must not answer yet (slow propagation). */
  readonly hidden = new Set<string>();

  addZone(name: string, id: string, nameserverIp = '127.0.0.1'): Zone {
    const zoneName = normalise(name);
    const zone: Zone = { id, name: zoneName, sets: new Map() };
    this.zones.set(id, zone);
    this.put(zone, {
      name: zoneName,
      type: 'SOA',
      ttl: 900,
      values: [`ns1.${zoneName}. hostmaster.${zoneName}. 1 7200 900 1209600 86400`],
    });
    this.put(zone, { name: zoneName, type: 'NS', ttl: 172800, values: [`ns1.${zoneName}`] });
    this.put(zone, { name: `ns1.${zoneName}`, type: 'A', ttl: 300, values: [nameserverIp] });
    return zone;
  }

  zoneById(id: string): Zone | undefined {
    return this.zones.get(id.replace(/^\/?hostedzone\//, ''));
  }

  /** The zone a name falls in (longest match). */
  zoneFor(name: string): Zone | undefined {
    const n = normalise(name);
    let best: Zone | undefined;
    for (const zone of this.zones.values()) {
      if ((n === zone.name || n.endsWith(`.${zone.name}`)) && (!best || zone.name.length > best.name.length))
        best = zone;
    }
    return best;
  }

  get(zone: Zone, name: string, type: string): RecordSet | undefined {
    return zone.sets.get(key(name, type));
  }

  put(zone: Zone, set: RecordSet): void {
    zone.sets.set(key(set.name, set.type), { ...set, name: normalise(set.name), values: [...set.values] });
  }

  delete(zone: Zone, name: string, type: string): void {
    zone.sets.delete(key(name, type));
  }

  namesIn(zone: Zone): Set<string> {
    return new Set([...zone.sets.values()].map((s) => s.name));
  }
}
