// The C side of bench/kvm_exit.ts: the same guest image (compiled by the
// guest agent and loaded at the same GPA with the same vCPU state) run from a
// plain C loop, so the two figures differ only by the host's exit handling.
//   kvm_exit DIR N     DIR holds image.bin, sregs.bin, regs.bin, cpuid.bin
// Prints the microseconds per exit over N exits.
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define KVM_CREATE_VM 0xae01
#define KVM_GET_VCPU_MMAP_SIZE 0xae04
#define KVM_CREATE_VCPU 0xae41
#define KVM_RUN 0xae80
#define KVM_SET_USER_MEMORY_REGION 0x4020ae46
#define KVM_SET_CPUID2 0x4008ae90
#define KVM_SET_SREGS 0x4138ae84
#define KVM_SET_REGS 0x4090ae82

#define SLOT0_SIZE 0x800000ul
#define AREA_GPA 0x200000ul

struct region { uint32_t slot, flags; uint64_t gpa, size, hva; };

static void *slurp(const char *dir, const char *name, size_t *len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f) { perror(path); exit(1); }
	fseek(f, 0, SEEK_END);
	*len = ftell(f);
	rewind(f);
	void *p = malloc(*len);
	if (fread(p, 1, *len, f) != *len) { perror(path); exit(1); }
	fclose(f);
	return p;
}

static void check(int r, const char *what)
{
	if (r < 0) { perror(what); exit(1); }
}

int main(int argc, char **argv)
{
	if (argc != 3) { fprintf(stderr, "usage: kvm_exit DIR N\n"); return 2; }
	long n = atol(argv[2]);
	size_t ilen, slen, rlen, clen;
	void *image = slurp(argv[1], "image.bin", &ilen);
	void *sregs = slurp(argv[1], "sregs.bin", &slen);
	void *regs = slurp(argv[1], "regs.bin", &rlen);
	void *cpuid = slurp(argv[1], "cpuid.bin", &clen);

	int kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	check(kvm, "/dev/kvm");
	int vm = ioctl(kvm, KVM_CREATE_VM, 0);
	check(vm, "KVM_CREATE_VM");
	uint8_t *mem = mmap(NULL, SLOT0_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	memcpy(mem + AREA_GPA, image, ilen);
	struct region r = { 0, 0, 0, SLOT0_SIZE, (uint64_t)mem };
	check(ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r), "KVM_SET_USER_MEMORY_REGION");
	int vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	check(vcpu, "KVM_CREATE_VCPU");
	int size = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	uint8_t *run = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	check(ioctl(vcpu, KVM_SET_CPUID2, cpuid), "KVM_SET_CPUID2");
	check(ioctl(vcpu, KVM_SET_SREGS, sregs), "KVM_SET_SREGS");
	check(ioctl(vcpu, KVM_SET_REGS, regs), "KVM_SET_REGS");

	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	for (long i = 0; i < n; i++)
		check(ioctl(vcpu, KVM_RUN, 0), "KVM_RUN");
	clock_gettime(CLOCK_MONOTONIC, &b);
	uint32_t reason = *(uint32_t *)(run + 8);
	double us = ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / 1e3 / n;
	printf("%.2f %u\n", us, reason);
	return 0;
}
