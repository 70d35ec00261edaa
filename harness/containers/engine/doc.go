// Package engine is cascade's access to the Docker engine, shared by the
// containers backend, the compose backend and the CLI (`cascade images`,
// `cascade clean`):
//
//   - Connect and Available reach the engine through testcontainers-go's
//     Docker client (so DOCKER_HOST and ~/.testcontainers.properties are
//     honoured the same way everywhere);
//   - EnsureImages builds cascade/mockaws and cascade/toxiproxy FROM scratch
//     out of static binaries, tagged by a content hash so unchanged code is
//     never rebuilt: the engine reaches no registry, nothing is pulled;
//   - Reap removes the containers and networks of earlier runs, found by the
//     cascade.run label, because testcontainers' reaper (Ryuk) is an image
//     that cannot be pulled here and is disabled.
package engine
