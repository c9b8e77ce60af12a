export async function seedIfEmpty(..._a: unknown[]): Promise<number> { return 0; }
