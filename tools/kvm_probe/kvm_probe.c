/*
 * kvm_probe: run a list of KVM uAPI calls against the real /dev/kvm and print
 * each call's result as one JSON line. It never runs a guest (no KVM_RUN).
 *
 * Input (stdin), one call per line; '#' starts a comment, blank lines are
 * skipped and produce no output:
 *
 *   [name =] op arg...
 *
 * An argument is an integer (decimal, 0x hex, a leading '-' gives the
 * two's-complement u64) or the name of an earlier result, optionally
 * followed by +N or -N. A result's value is its ret (an fd for the
 * creating calls) or, for mmap/mmap_anon, the mapped address.
 *
 * Ops (see tools/kvm_probe/README.md for the output fields):
 *   open_kvm                       open("/dev/kvm", O_RDWR|O_CLOEXEC)
 *   check_ext FD CAP               KVM_CHECK_EXTENSION on /dev/kvm or a VM fd
 *   create_vm KVMFD TYPE           KVM_CREATE_VM
 *   create_vcpu VM ID              KVM_CREATE_VCPU
 *   create_gmem VM SIZE FLAGS [RESERVED0..5]   KVM_CREATE_GUEST_MEMFD
 *   enable_cap FD CAP FLAGS [ARG0..3]          KVM_ENABLE_CAP
 *   set_region VM SLOT FLAGS GPA SIZE UADDR    KVM_SET_USER_MEMORY_REGION
 *   set_region2 VM SLOT FLAGS GPA SIZE UADDR GMEM_OFFSET GMEM_FD
 *                                  KVM_SET_USER_MEMORY_REGION2
 *   set_attr VM ADDR SIZE ATTRS FLAGS          KVM_SET_MEMORY_ATTRIBUTES
 *   pre_fault VCPU GPA SIZE FLAGS  KVM_PRE_FAULT_MEMORY (prints gpa/size out)
 *   fstat FD                       (prints size, blksize, ino, mode)
 *   read FD LEN | write FD LEN | pread FD LEN OFF | pwrite FD LEN OFF
 *   lseek FD OFF WHENCE | ftruncate FD LEN | fallocate FD MODE OFF LEN
 *   mmap FD LEN OFF PROT FLAGS     (ret 0 on success; the value is the address)
 *   mmap_anon LEN                  PROT_READ|WRITE, MAP_PRIVATE|MAP_ANONYMOUS
 *   munmap ADDR LEN
 *   peek ADDR | poke ADDR BYTE     one-byte host access; a SIGBUS/SIGSEGV is
 *                                  caught and reported as "signal"
 *   memfd | dup FD | close FD
 *   ioctl FD REQUEST ARG           any _IO request (no data transfer) with an
 *                                  integer argument, except KVM_RUN
 *
 * Exit status: 0 after the whole list ran, 2 on bad input (the message names
 * the line), 3 when a safety limit refused a call. Every fd and mapping the
 * probe made is released before it exits.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/kvm.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/*
 * What Debian 12's linux-libc-dev 6.1 header lacks (values verified against
 * the 6.18-era include/uapi/linux/kvm.h; the static asserts below pin the
 * request numbers and struct sizes).
 */
struct probe_region2 {
	uint32_t slot;
	uint32_t flags;
	uint64_t guest_phys_addr;
	uint64_t memory_size;
	uint64_t userspace_addr;
	uint64_t guest_memfd_offset;
	uint32_t guest_memfd;
	uint32_t pad1;
	uint64_t pad2[14];
};

struct probe_memory_attributes {
	uint64_t address;
	uint64_t size;
	uint64_t attributes;
	uint64_t flags;
};

struct probe_create_guest_memfd {
	uint64_t size;
	uint64_t flags;
	uint64_t reserved[6];
};

struct probe_pre_fault_memory {
	uint64_t gpa;
	uint64_t size;
	uint64_t flags;
	uint64_t padding[5];
};

#define PROBE_SET_USER_MEMORY_REGION2 _IOW(KVMIO, 0x49, struct probe_region2)
#define PROBE_SET_MEMORY_ATTRIBUTES _IOW(KVMIO, 0xd2, struct probe_memory_attributes)
#define PROBE_CREATE_GUEST_MEMFD _IOWR(KVMIO, 0xd4, struct probe_create_guest_memfd)
#define PROBE_PRE_FAULT_MEMORY _IOWR(KVMIO, 0xd5, struct probe_pre_fault_memory)

_Static_assert(sizeof(struct probe_region2) == 160, "kvm_userspace_memory_region2 is 160 bytes");
_Static_assert(sizeof(struct probe_memory_attributes) == 32, "kvm_memory_attributes is 32 bytes");
_Static_assert(sizeof(struct probe_create_guest_memfd) == 64, "kvm_create_guest_memfd is 64 bytes");
_Static_assert(sizeof(struct probe_pre_fault_memory) == 64, "kvm_pre_fault_memory is 64 bytes");
_Static_assert(sizeof(struct kvm_enable_cap) == 104, "kvm_enable_cap is 104 bytes");
_Static_assert(PROBE_SET_USER_MEMORY_REGION2 == 0x40a0ae49, "KVM_SET_USER_MEMORY_REGION2");
_Static_assert(PROBE_SET_MEMORY_ATTRIBUTES == 0x4020aed2, "KVM_SET_MEMORY_ATTRIBUTES");
_Static_assert(PROBE_CREATE_GUEST_MEMFD == 0xc040aed4, "KVM_CREATE_GUEST_MEMFD");
_Static_assert(PROBE_PRE_FAULT_MEMORY == 0xc040aed5, "KVM_PRE_FAULT_MEMORY");
_Static_assert(KVM_SET_USER_MEMORY_REGION == 0x4020ae46, "KVM_SET_USER_MEMORY_REGION");
_Static_assert(KVM_ENABLE_CAP == 0x4068aea3, "KVM_ENABLE_CAP");

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 1U
#endif

/* Host safety: the real /dev/kvm is shared by the whole machine. */
#define MAX_ALLOC_BYTES (64ULL << 20)
#define MAX_IO_BYTES (1U << 20)
#define MAX_NAMES 4096
#define MAX_TRACKED 8192
#define MAX_ARGS 12
#define MAX_LINE 1024

struct name {
	char key[64];
	uint64_t value;
};

struct tracked_map {
	uint64_t addr;
	uint64_t len;
};

static struct name names[MAX_NAMES];
static int nr_names;
static int open_fds[MAX_TRACKED];
static int nr_fds;
static struct tracked_map maps[MAX_TRACKED];
static int nr_maps;
static unsigned long lineno;

static sigjmp_buf access_env;
static volatile sig_atomic_t access_armed;
static volatile sig_atomic_t access_signal;

static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "kvm_probe: line %lu: ", lineno);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(code);
}

static void on_fault(int sig)
{
	if (!access_armed) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	access_signal = sig;
	siglongjmp(access_env, 1);
}

static void track_fd(int fd)
{
	if (fd < 0)
		return;
	if (nr_fds == MAX_TRACKED)
		die(3, "more than %d open fds", MAX_TRACKED);
	open_fds[nr_fds++] = fd;
}

static void untrack_fd(int fd)
{
	for (int i = 0; i < nr_fds; i++) {
		if (open_fds[i] == fd) {
			open_fds[i] = open_fds[--nr_fds];
			return;
		}
	}
}

static void track_map(uint64_t addr, uint64_t len)
{
	if (nr_maps == MAX_TRACKED)
		die(3, "more than %d mappings", MAX_TRACKED);
	maps[nr_maps].addr = addr;
	maps[nr_maps].len = len;
	nr_maps++;
}

static void untrack_map(uint64_t addr)
{
	for (int i = 0; i < nr_maps; i++) {
		if (maps[i].addr == addr) {
			maps[i] = maps[--nr_maps];
			return;
		}
	}
}

static void release_all(void)
{
	for (int i = 0; i < nr_maps; i++)
		munmap((void *)(uintptr_t)maps[i].addr, maps[i].len);
	nr_maps = 0;
	/* Newest first: vCPUs and gmems before the VMs they pin. */
	for (int i = nr_fds - 1; i >= 0; i--)
		close(open_fds[i]);
	nr_fds = 0;
}

static int lookup(const char *key, uint64_t *out)
{
	for (int i = nr_names - 1; i >= 0; i--) {
		if (strcmp(names[i].key, key) == 0) {
			*out = names[i].value;
			return 1;
		}
	}
	return 0;
}

static void bind_name(const char *key, uint64_t value)
{
	for (int i = 0; i < nr_names; i++) {
		if (strcmp(names[i].key, key) == 0) {
			names[i].value = value;
			return;
		}
	}
	if (nr_names == MAX_NAMES)
		die(2, "more than %d names", MAX_NAMES);
	snprintf(names[nr_names].key, sizeof(names[nr_names].key), "%s", key);
	names[nr_names].value = value;
	nr_names++;
}

static int is_ident_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static int is_ident(char c)
{
	return is_ident_start(c) || (c >= '0' && c <= '9');
}

static uint64_t parse_int(const char *s, const char *whole)
{
	int neg = 0;
	char *end;
	uint64_t v;

	if (*s == '-') {
		neg = 1;
		s++;
	}
	if (!(*s >= '0' && *s <= '9'))
		die(2, "bad argument '%s'", whole);
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		die(2, "bad argument '%s'", whole);
	return neg ? (uint64_t)0 - v : v;
}

/* NAME, NAME+N, NAME-N or an integer. */
static uint64_t parse_arg(const char *tok)
{
	char key[64];
	size_t n = 0;
	uint64_t base;

	if (!is_ident_start(*tok))
		return parse_int(tok, tok);
	while (is_ident(tok[n])) {
		if (n + 1 >= sizeof(key))
			die(2, "name too long in '%s'", tok);
		key[n] = tok[n];
		n++;
	}
	key[n] = 0;
	if (!lookup(key, &base))
		die(2, "unknown name '%s'", key);
	if (tok[n] == 0)
		return base;
	if (tok[n] == '+')
		return base + parse_int(tok + n + 1, tok);
	if (tok[n] == '-')
		return base - parse_int(tok + n + 1, tok);
	die(2, "bad argument '%s'", tok);
	return 0;
}

static void print_head(const char *op, long long ret, int err)
{
	printf("{\"line\":%lu,\"op\":\"%s\",\"ret\":%lld,\"errno\":%d", lineno, op, ret, err);
}

static void print_u64(const char *key, uint64_t v)
{
	printf(",\"%s\":\"%" PRIu64 "\"", key, v);
}

static void print_end(void)
{
	fputs("}\n", stdout);
	fflush(stdout);
}

/* Prints the common result and returns the value a name takes. */
static uint64_t simple(const char *op, long long ret)
{
	int err = ret < 0 ? errno : 0;

	print_head(op, ret, err);
	print_end();
	return (uint64_t)ret;
}

static void need(const char *op, int argc, int min, int max)
{
	if (argc < min || argc > max) {
		if (min == max)
			die(2, "%s takes %d argument(s), got %d", op, min, argc);
		die(2, "%s takes %d..%d arguments, got %d", op, min, max, argc);
	}
}

static uint64_t host_access(uint64_t addr, int write, uint8_t byte)
{
	volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)addr;
	volatile int value = -1;

	access_signal = 0;
	if (sigsetjmp(access_env, 1) == 0) {
		access_armed = 1;
		if (write)
			*p = byte;
		else
			value = *p;
		access_armed = 0;
	} else {
		access_armed = 0;
	}
	print_head(write ? "poke" : "peek", access_signal ? -1 : 0, 0);
	if (access_signal)
		printf(",\"signal\":\"%s\"", access_signal == SIGBUS ? "SIGBUS" : "SIGSEGV");
	else if (!write)
		printf(",\"value\":%d", value);
	print_end();
	return access_signal ? (uint64_t)-1 : 0;
}

static uint64_t run_op(const char *op, int argc, uint64_t *a)
{
	long long ret;

	if (!strcmp(op, "open_kvm")) {
		need(op, argc, 0, 0);
		ret = open("/dev/kvm", O_RDWR | O_CLOEXEC);
		track_fd((int)ret);
		return simple(op, ret);
	}
	if (!strcmp(op, "check_ext")) {
		need(op, argc, 2, 2);
		return simple(op, ioctl((int)a[0], KVM_CHECK_EXTENSION, (unsigned long)a[1]));
	}
	if (!strcmp(op, "create_vm")) {
		need(op, argc, 2, 2);
		ret = ioctl((int)a[0], KVM_CREATE_VM, (unsigned long)a[1]);
		track_fd((int)ret);
		return simple(op, ret);
	}
	if (!strcmp(op, "create_vcpu")) {
		need(op, argc, 2, 2);
		ret = ioctl((int)a[0], KVM_CREATE_VCPU, (unsigned long)a[1]);
		track_fd((int)ret);
		return simple(op, ret);
	}
	if (!strcmp(op, "create_gmem")) {
		struct probe_create_guest_memfd g;

		need(op, argc, 3, 9);
		memset(&g, 0, sizeof(g));
		g.size = a[1];
		g.flags = a[2];
		for (int i = 3; i < argc; i++)
			g.reserved[i - 3] = a[i];
		ret = ioctl((int)a[0], PROBE_CREATE_GUEST_MEMFD, &g);
		track_fd((int)ret);
		return simple(op, ret);
	}
	if (!strcmp(op, "enable_cap")) {
		struct kvm_enable_cap c;

		need(op, argc, 3, 7);
		memset(&c, 0, sizeof(c));
		c.cap = (uint32_t)a[1];
		c.flags = (uint32_t)a[2];
		for (int i = 3; i < argc; i++)
			c.args[i - 3] = a[i];
		return simple(op, ioctl((int)a[0], KVM_ENABLE_CAP, &c));
	}
	if (!strcmp(op, "set_region") || !strcmp(op, "set_region2")) {
		/*
		 * struct kvm_userspace_memory_region is the first 32 bytes of
		 * region2 (include/uapi/linux/kvm.h), and KVM_SET_USER_MEMORY_REGION
		 * copies only those: one struct serves both ioctls.
		 */
		int v2 = !strcmp(op, "set_region2");
		struct probe_region2 r;

		need(op, argc, v2 ? 8 : 6, v2 ? 8 : 6);
		memset(&r, 0, sizeof(r));
		r.slot = (uint32_t)a[1];
		r.flags = (uint32_t)a[2];
		r.guest_phys_addr = a[3];
		r.memory_size = a[4];
		r.userspace_addr = a[5];
		if (v2) {
			r.guest_memfd_offset = a[6];
			r.guest_memfd = (uint32_t)a[7];
		}
		return simple(op, ioctl((int)a[0], v2 ? PROBE_SET_USER_MEMORY_REGION2 : KVM_SET_USER_MEMORY_REGION, &r));
	}
	if (!strcmp(op, "set_attr")) {
		struct probe_memory_attributes m;

		need(op, argc, 5, 5);
		m.address = a[1];
		m.size = a[2];
		m.attributes = a[3];
		m.flags = a[4];
		return simple(op, ioctl((int)a[0], PROBE_SET_MEMORY_ATTRIBUTES, &m));
	}
	if (!strcmp(op, "pre_fault")) {
		struct probe_pre_fault_memory p;
		int err;

		need(op, argc, 4, 4);
		memset(&p, 0, sizeof(p));
		p.gpa = a[1];
		p.size = a[2];
		p.flags = a[3];
		ret = ioctl((int)a[0], PROBE_PRE_FAULT_MEMORY, &p);
		err = ret < 0 ? errno : 0;
		print_head(op, ret, err);
		print_u64("gpa", p.gpa);
		print_u64("size", p.size);
		print_end();
		return (uint64_t)ret;
	}
	if (!strcmp(op, "fstat")) {
		struct stat st;
		int err;

		need(op, argc, 1, 1);
		ret = fstat((int)a[0], &st);
		err = ret < 0 ? errno : 0;
		print_head(op, ret, err);
		if (ret == 0) {
			print_u64("size", (uint64_t)st.st_size);
			printf(",\"blksize\":%ld,\"mode\":%u", (long)st.st_blksize, (unsigned)st.st_mode);
			print_u64("ino", (uint64_t)st.st_ino);
		}
		print_end();
		return (uint64_t)ret;
	}
	if (!strcmp(op, "read") || !strcmp(op, "write") || !strcmp(op, "pread") || !strcmp(op, "pwrite")) {
		int positional = op[0] == 'p';
		int writing = strstr(op, "write") != NULL;
		static uint8_t buf[MAX_IO_BYTES];

		need(op, argc, positional ? 3 : 2, positional ? 3 : 2);
		if (a[1] > MAX_IO_BYTES)
			die(3, "%s of %" PRIu64 " bytes refused (limit %u)", op, a[1], MAX_IO_BYTES);
		memset(buf, 0xa5, (size_t)a[1]);
		if (positional)
			ret = writing ? pwrite((int)a[0], buf, (size_t)a[1], (off_t)a[2])
				      : pread((int)a[0], buf, (size_t)a[1], (off_t)a[2]);
		else
			ret = writing ? write((int)a[0], buf, (size_t)a[1]) : read((int)a[0], buf, (size_t)a[1]);
		return simple(op, ret);
	}
	if (!strcmp(op, "lseek")) {
		need(op, argc, 3, 3);
		return simple(op, lseek((int)a[0], (off_t)a[1], (int)a[2]));
	}
	if (!strcmp(op, "ftruncate")) {
		need(op, argc, 2, 2);
		return simple(op, ftruncate((int)a[0], (off_t)a[1]));
	}
	if (!strcmp(op, "fallocate")) {
		need(op, argc, 4, 4);
		/*
		 * An allocation inside i_size really takes memory (a punch never
		 * does, and guest_memfd refuses ranges past i_size).
		 */
		{
			struct stat st;

			if (!(a[1] & FALLOC_FL_PUNCH_HOLE) && a[3] > MAX_ALLOC_BYTES && fstat((int)a[0], &st) == 0 &&
			    (int64_t)a[2] >= 0 && a[2] + a[3] >= a[2] && a[2] + a[3] <= (uint64_t)st.st_size)
				die(3, "fallocate allocation of %" PRIu64 " bytes refused (limit %llu)", a[3],
				    MAX_ALLOC_BYTES);
		}
		return simple(op, fallocate((int)a[0], (int)a[1], (off_t)a[2], (off_t)a[3]));
	}
	if (!strcmp(op, "mmap") || !strcmp(op, "mmap_anon")) {
		int anon = op[4] == '_';
		void *p;
		int err;

		need(op, argc, anon ? 1 : 5, anon ? 1 : 5);
		if (anon)
			p = mmap(NULL, (size_t)a[0], PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		else
			p = mmap(NULL, (size_t)a[1], (int)a[3], (int)a[4], (int)a[0], (off_t)a[2]);
		err = p == MAP_FAILED ? errno : 0;
		print_head(op, p == MAP_FAILED ? -1 : 0, err);
		print_end();
		if (p == MAP_FAILED)
			return (uint64_t)-1;
		track_map((uint64_t)(uintptr_t)p, anon ? a[0] : a[1]);
		return (uint64_t)(uintptr_t)p;
	}
	if (!strcmp(op, "munmap")) {
		need(op, argc, 2, 2);
		ret = munmap((void *)(uintptr_t)a[0], (size_t)a[1]);
		if (ret == 0)
			untrack_map(a[0]);
		return simple(op, ret);
	}
	if (!strcmp(op, "peek")) {
		need(op, argc, 1, 1);
		return host_access(a[0], 0, 0);
	}
	if (!strcmp(op, "poke")) {
		need(op, argc, 2, 2);
		return host_access(a[0], 1, (uint8_t)a[1]);
	}
	if (!strcmp(op, "ioctl")) {
		need(op, argc, 3, 3);
		/* Never run a guest; never hand the kernel a pointer it could write through. */
		if (_IOC_DIR((unsigned int)a[1]) != _IOC_NONE || a[1] > 0xffffffffULL)
			die(3, "ioctl 0x%" PRIx64 " refused: only _IO requests", a[1]);
		if (a[1] == KVM_RUN)
			die(3, "ioctl KVM_RUN refused: the probe never runs a guest");
		return simple(op, ioctl((int)a[0], (unsigned long)a[1], (unsigned long)a[2]));
	}
	if (!strcmp(op, "memfd")) {
		need(op, argc, 0, 0);
		ret = memfd_create("kvm_probe", MFD_CLOEXEC);
		track_fd((int)ret);
		return simple(op, ret);
	}
	if (!strcmp(op, "dup")) {
		need(op, argc, 1, 1);
		ret = fcntl((int)a[0], F_DUPFD_CLOEXEC, 0);
		track_fd((int)ret);
		return simple(op, ret);
	}
	if (!strcmp(op, "close")) {
		need(op, argc, 1, 1);
		ret = close((int)a[0]);
		if (ret == 0)
			untrack_fd((int)a[0]);
		return simple(op, ret);
	}
	die(2, "unknown op '%s'", op);
	return 0;
}

int main(void)
{
	char line[MAX_LINE];
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	atexit(release_all);

	while (fgets(line, sizeof(line), stdin)) {
		char *tok[MAX_ARGS + 3];
		int ntok = 0;
		char *save = NULL, *hash, *t;
		const char *target = NULL, *op;
		uint64_t args[MAX_ARGS];
		int argc, first = 0;

		lineno++;
		if (!strchr(line, '\n') && !feof(stdin))
			die(2, "line longer than %d characters", MAX_LINE - 2);
		hash = strchr(line, '#');
		if (hash)
			*hash = 0;
		for (t = strtok_r(line, " \t\r\n", &save); t; t = strtok_r(NULL, " \t\r\n", &save)) {
			if (ntok == MAX_ARGS + 3)
				die(2, "too many arguments");
			tok[ntok++] = t;
		}
		if (ntok == 0)
			continue;
		if (ntok >= 2 && !strcmp(tok[1], "=")) {
			if (!is_ident_start(tok[0][0]))
				die(2, "bad name '%s'", tok[0]);
			for (const char *c = tok[0]; *c; c++)
				if (!is_ident(*c))
					die(2, "bad name '%s'", tok[0]);
			if (strlen(tok[0]) >= sizeof(names[0].key))
				die(2, "name too long '%s'", tok[0]);
			target = tok[0];
			first = 2;
		}
		if (first >= ntok)
			die(2, "missing op");
		op = tok[first];
		argc = ntok - first - 1;
		if (argc > MAX_ARGS)
			die(2, "too many arguments");
		for (int i = 0; i < argc; i++)
			args[i] = parse_arg(tok[first + 1 + i]);
		{
			uint64_t v = run_op(op, argc, args);

			if (target)
				bind_name(target, v);
		}
	}
	if (ferror(stdin))
		die(2, "error reading stdin");
	return 0;
}
