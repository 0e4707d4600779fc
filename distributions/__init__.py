"""One uncertain number: distribution specs -> frozen scipy.stats objects, and how to sample them."""
