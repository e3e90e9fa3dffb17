/* The anchor of bench/figures/gmem.ts: a SIZE guest_memfd (MMAP |
 * INIT_SHARED) of a default VM on the host's /dev/kvm, mapped, with PAGES
 * pages spread over it written once; prints how much the process's
 * resident file-backed memory grew (RssFile of /proc/self/status; guest_memfd
 * pages count there): the pages
 * the kernel allocated for the data.
 *   gmem_touch SIZE PAGES */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>

#ifndef KVM_CREATE_GUEST_MEMFD
#define KVM_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct kvm_create_guest_memfd)
struct kvm_create_guest_memfd { unsigned long long size, flags, reserved[6]; };
#endif
#define GUEST_MEMFD_FLAG_MMAP (1ULL << 0)
#define GUEST_MEMFD_FLAG_INIT_SHARED (1ULL << 1)

static long long rss_file(void)
{
	char line[256];
	long long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "RssFile: %lld kB", &kb) == 1)
			break;
	if (f)
		fclose(f);
	return kb * 1024;
}

int main(int argc, char **argv)
{
	unsigned long long size = argc > 1 ? strtoull(argv[1], NULL, 0) : 1ULL << 40;
	long pages = argc > 2 ? atol(argv[2]) : 1000;
	struct kvm_create_guest_memfd g = { .size = size, .flags = GUEST_MEMFD_FLAG_MMAP | GUEST_MEMFD_FLAG_INIT_SHARED };
	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, fd;
	unsigned long long stride = (size / pages) & ~4095ULL;
	long long before;
	char *p;

	if (kvm < 0) {
		perror("open /dev/kvm");
		return 4;
	}
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0) {
		perror("KVM_CREATE_VM");
		return 1;
	}
	fd = ioctl(vm, KVM_CREATE_GUEST_MEMFD, &g);
	if (fd < 0) {
		perror("KVM_CREATE_GUEST_MEMFD (MMAP|INIT_SHARED)");
		return 4;
	}
	p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED) {
		perror("mmap of the guest_memfd");
		return 4;
	}
	before = rss_file();
	for (long i = 0; i < pages; i++)
		memset(p + i * stride, 0xaa, 4096);
	printf("%lld\n", rss_file() - before);
	return 0;
}
